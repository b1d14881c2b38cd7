"""In production time (wall clock) a deadline fires on its own, at its due moment."""

from __future__ import annotations

import socket
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from harness import Pipeline
from prometheus_client.parser import text_string_to_metric_families

from core.reference import category
from schemas.events import ComplaintAssigned, ComplaintEscalated
from streams.admin import ensure_topics
from streams.topics import ALL_TOPICS
from streams.worker_process import WorkerProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wall_clock_deadline_fires_without_any_other_traffic(test_settings):
    port = free_port()
    settings = test_settings.with_overrides(clock="wall", weekly_offs="none",
                                            tick_interval_seconds=0.1, metrics_port=port)
    ensure_topics(settings, ALL_TOPICS)
    worker = WorkerProcess(settings, settings.stack_dir / "worker.log").start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
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
        assert escalation.occurred_at >= assigned.due_at  # never early
        delay = (escalation.occurred_at - assigned.due_at).total_seconds()
        end_to_end = (seen_at - assigned.due_at).total_seconds()
        print(f"\nescalation fired {delay:.3f}s after its due time; "
              f"visible to a subscriber {end_to_end:.3f}s after it")
        assert escalation.overdue_seconds == int(delay)

        # The worker's own metrics endpoint: our latency histogram beside Faust's sensors.
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode())
            for s in family.samples
        }
        assert samples[("sankalp_processing_latency_seconds_count",
                        (("agent", "lifecycle"),))] >= 2
        assert samples[("faust_messages_received_total", ())] >= 2
    finally:
        harness.close()
        worker.stop()
