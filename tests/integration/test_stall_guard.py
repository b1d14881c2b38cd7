"""An input partition that stops being read while it has a backlog is found and resumed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from harness import Pipeline

from schemas.events import ComplaintAssigned
from streams.admin import ensure_topics
from streams.topics import ALL_TOPICS
from streams.worker_process import WorkerProcess


def test_a_stalled_input_partition_is_resumed(test_settings):
    settings = test_settings.with_overrides(failpoints="worker.pause_input=1",
                                            stall_seconds=3.0)
    ensure_topics(settings, ALL_TOPICS)
    worker = WorkerProcess(settings, settings.stack_dir / "worker.log").start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
        harness.wait_for("the pause", lambda: "failpoint worker.pause_input" in worker.tail())
        ids = [f"HP-STALL-{uuid.uuid4().hex[:8].upper()}" for _ in range(12)]
        for cid in ids:  # 12 complaints: some land on the paused partition
            harness.submit(cid, datetime.now(UTC), category="drinking_water_supply",
                           district="Mandi", block="Gohar")
        harness.wait_for("every complaint assigned",
                         lambda: all(harness.of(c, ComplaintAssigned) for c in ids), timeout=90)
        assert "no progress" in worker._log_since_start()
    finally:
        harness.close()
        worker.stop()
