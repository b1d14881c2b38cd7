"""Counting what happened: complaint events into the Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.deadletter import DeadLetter
from schemas.events import (
    CommandRejected,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintReopened,
    DuplicateLinked,
    Event,
    OverdueAtState,
    SlaWarning,
)
from sinks.metrics import Metrics


def count_events(metrics: Metrics, events: Iterable[Event],
                 dead_letters: Iterable[DeadLetter] = ()) -> None:
    for e in events:
        if isinstance(e, ComplaintAssigned):
            metrics.assigned.labels(e.cause, e.department, e.district, str(e.level)).inc()
            if e.cause == "routed":  # once per complaint: its registration
                metrics.registered.labels(e.channel, e.department, e.district).inc()
        elif isinstance(e, ComplaintEscalated):
            metrics.escalated.labels(e.cause, str(e.from_level), e.department,
                                     e.district).inc()
        elif isinstance(e, ComplaintClosed):
            metrics.closed.labels(e.reason, e.department, e.district).inc()
            metrics.resolution_seconds.labels(e.department).observe(
                max(0.0, (e.occurred_at - e.registered_at).total_seconds()))
        elif isinstance(e, ComplaintReopened):
            metrics.reopened.labels(e.cause).inc()
        elif isinstance(e, SlaWarning):
            metrics.sla_warnings.labels(str(e.level), str(e.fraction)).inc()
        elif isinstance(e, OverdueAtState):
            metrics.overdue_reminders.labels(e.department).inc()
        elif isinstance(e, DuplicateLinked):
            metrics.duplicates.labels(e.channel).inc()
        elif isinstance(e, CommandRejected):
            metrics.rejected.labels(e.rejected_event_type).inc()
    for letter in dead_letters:
        metrics.dead_lettered.labels(letter.source_topic).inc()
