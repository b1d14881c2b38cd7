"""An input partition that stops being read while it has a backlog is found and resumed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from harness import running_worker

from schemas.events import ComplaintAssigned


def test_a_stalled_input_partition_is_resumed(test_settings):
    settings = test_settings.with_overrides(stall_seconds=3.0)
    with running_worker(settings, failpoints="worker.pause_input=1") as (worker, harness):
        paused = harness.wait_for("the pause", lambda: re.search(
            r"failpoint worker\.pause_input: pausing (\S+)\[(\d+)\]", worker.tail()))
        ids = [f"HP-STALL-{uuid.uuid4().hex[:8].upper()}" for _ in range(12)]
        for cid in ids:  # 12 complaints: some land on the paused partition
            harness.submit(cid, datetime.now(UTC), category="drinking_water_supply",
                           district="Mandi", block="Gohar")
        harness.wait_for("every complaint assigned",
                         lambda: all(harness.of(c, ComplaintAssigned) for c in ids), timeout=90)
        # The guard found the partition the failpoint paused (not another) and resumed it.
        topic, partition = paused.groups()
        assert re.search(rf"input {re.escape(topic)}\[{partition}\] has \d+ message\(s\) "
                         r"waiting and no progress for \d+ s: resuming it",
                         worker._log_since_start()), worker.tail()
