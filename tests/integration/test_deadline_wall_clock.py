"""In production time (wall clock) a deadline fires on its own, at its due moment."""

from __future__ import annotations

import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from harness import running_worker
from kit.settings import free_port
from prometheus_client.parser import text_string_to_metric_families

from core.reference import category
from schemas.events import ComplaintAssigned, ComplaintEscalated


def test_wall_clock_deadline_fires_without_any_other_traffic(test_settings):
    port = free_port()
    settings = test_settings.with_overrides(clock="wall", weekly_offs="none",
                                            tick_interval_seconds=0.1, metrics_port=port)
    with running_worker(settings) as (_, harness):
        days = category("drinking_water_supply").sla_working_days
        # With no day off, N working days are N calendar days: registered N days ago plus
        # a few seconds, the complaint falls due a few seconds from now.
        registered_at = datetime.now(UTC) + timedelta(seconds=4) - timedelta(days=days)
        cid = f"HP-WALL-{uuid.uuid4().hex[:8].upper()}"
        harness.submit(cid, registered_at, category="drinking_water_supply",
                       district="Mandi", block="Gohar")
        assigned = harness.wait_for("assigned", lambda: harness.of(cid, ComplaintAssigned))[0]
        escalation = harness.wait_for("escalation", lambda: harness.of(cid, ComplaintEscalated),
                                      timeout=60)[0]
        seen_at = datetime.now(UTC)
        assert escalation.previous_due_at == assigned.due_at
        # dated at its due moment (the next officer's limit counts from there) ...
        assert escalation.occurred_at == assigned.due_at
        end_to_end = (seen_at - assigned.due_at).total_seconds()

        # The worker's own metrics endpoint: our latency histogram beside Faust's sensors.
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode())
            for s in family.samples
        }
        assert samples[("sankalp_processing_latency_seconds_count",
                        (("agent", "lifecycle"),))] >= 2
        # ... and how late it actually ran is the worker's escalation delay histogram
        assert samples[("sankalp_escalation_delay_seconds_count", ())] == 1
        delay = samples[("sankalp_escalation_delay_seconds_sum", ())]
        assert 0 <= delay < end_to_end
        print(f"\nescalation ran {delay:.3f}s after its due time; "
              f"visible to a subscriber {end_to_end:.3f}s after it")
        assert samples[("faust_messages_received_total", ())] >= 2


def test_a_command_dated_in_the_future_is_refused(test_settings):
    """In wall time a command far ahead of the clock would fire deadlines early."""
    settings = test_settings.with_overrides(clock="wall", max_clock_skew_seconds=300)
    with running_worker(settings) as (_, harness):
        now = datetime.now(UTC)
        cid = f"HP-FUT-{uuid.uuid4().hex[:8].upper()}"
        harness.submit(cid, now, category="drinking_water_supply", district="Mandi",
                       block="Gohar")
        assigned = harness.wait_for("assigned", lambda: harness.of(cid, ComplaintAssigned))[0]
        harness.feedback(cid, now + timedelta(days=40), "satisfied")
        later = f"HP-FUT-{uuid.uuid4().hex[:8].upper()}"
        harness.submit(later, now + timedelta(hours=2), category="drinking_water_supply",
                       district="Mandi", block="Gohar")
        letters = harness.wait_for("two dead letters", lambda: len(harness.dead_letters) >= 2
                                   and harness.dead_letters)
        assert {d.key for d in letters} == {cid, later}
        assert all("ahead of the pipeline clock" in d.reason for d in letters)
        # nothing fired early: still at level 1 with its first officer
        assert harness.state(cid).level == assigned.level
        assert not harness.of(cid, ComplaintEscalated)
