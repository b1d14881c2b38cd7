"""A message the consumer skips is read again, not committed past.

Faust's stream acknowledges a message it skips (a stale one around a rebalance) without
any agent handling it; its commit then passed that message, and a registration was lost
(the kill fault test, about one CI run in three). The failpoint `worker.skip_input` does
the same to one input message on purpose.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime

from harness import running_worker

from schemas.events import ComplaintAssigned


def test_a_skipped_input_message_is_read_again(test_settings):
    # the stall guard would also recover it, after SANKALP_STALL_SECONDS: keep it out
    settings = test_settings.with_overrides(stall_seconds=3600.0)
    with running_worker(settings, failpoints="worker.skip_input=3") as (worker, harness):
        ids = [f"HP-SKIP-{uuid.uuid4().hex[:8].upper()}" for _ in range(24)]
        for cid in ids:
            harness.submit(cid, datetime.now(UTC), category="drinking_water_supply",
                           district="Mandi", block="Gohar")
        harness.wait_for("every complaint assigned",
                         lambda: all(harness.of(c, ComplaintAssigned) for c in ids), timeout=90)
        harness.poll(1.0)  # a message handled twice would show as a second assignment
        log = worker._log_since_start()
        # The frontier noticed the very message the failpoint dropped, and read from it again.
        dropped = re.search(r"failpoint worker\.skip_input: dropping (\S+)\[(\d+)\]@(\d+)", log)
        assert dropped, worker.tail()
        topic, partition, offset = dropped.groups()
        assert re.search(rf"input {re.escape(topic)}\[{partition}\]: offset \d+ arrived while "
                         rf"{offset} was expected \(the consumer skipped messages\); reading "
                         rf"again from {offset}\b", log), worker.tail()
        # ... and handled it (and every message after it) exactly once.
        assigned = Counter(e.complaint_id for c in ids for e in harness.of(c, ComplaintAssigned))
        assert assigned == dict.fromkeys(ids, 1)
