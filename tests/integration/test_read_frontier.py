"""A message the consumer skips is read again, not committed past.

Faust's stream acknowledges a message it skips (a stale one around a rebalance) without
any agent handling it; its commit then passed that message, and a registration was lost
(the kill fault test, about one CI run in three). The failpoint `worker.skip_input` does
the same to one input message on purpose.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from harness import Pipeline

from schemas.events import ComplaintAssigned
from streams.admin import ensure_topics
from streams.topics import ALL_TOPICS
from streams.worker_process import WorkerProcess


def test_a_skipped_input_message_is_read_again(test_settings):
    # the stall guard would also recover it, after SANKALP_STALL_SECONDS: keep it out
    settings = test_settings.with_overrides(failpoints="worker.skip_input=3",
                                            stall_seconds=3600.0)
    ensure_topics(settings, ALL_TOPICS)
    worker = WorkerProcess(settings, settings.stack_dir / "worker.log").start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
        ids = [f"HP-SKIP-{uuid.uuid4().hex[:8].upper()}" for _ in range(24)]
        for cid in ids:
            harness.submit(cid, datetime.now(UTC), category="drinking_water_supply",
                           district="Mandi", block="Gohar")
        harness.wait_for("every complaint assigned",
                         lambda: all(harness.of(c, ComplaintAssigned) for c in ids), timeout=90)
        log = worker._log_since_start()
        assert "failpoint worker.skip_input: dropping" in log
        assert "the consumer skipped messages); reading again from" in log
        assert all(len(harness.of(c, ComplaintAssigned)) >= 1 for c in ids)
    finally:
        harness.close()
        worker.stop()
