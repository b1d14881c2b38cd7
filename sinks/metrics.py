"""Every Prometheus metric of the project, declared once.

Names follow Prometheus conventions (snake_case, `sankalp_` prefix, base units, `_total` for
counters, `_seconds` for durations). Labels are bounded: channel, department, district,
level, cause, status, reason; never an officer or a complaint id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Time limits are days; delays seconds. Buckets span both ends of what an operator watches.
RESOLUTION_BUCKETS = tuple(h * 3600 for h in (1, 6, 24, 48, 72, 120, 168, 240, 336, 504, 720))
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """One set of metrics on its own registry (tests build as many as they like)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.registered = Counter(
            "sankalp_complaints_registered_total", "Complaints registered.",
            ["channel", "department", "district"], registry=r)
        self.assigned = Counter(
            "sankalp_complaints_assigned_total", "Assignments to an officer (routing, "
            "transfer, return).", ["cause", "department", "district", "level"], registry=r)
        self.escalated = Counter(
            "sankalp_complaints_escalated_total", "Escalations one level up.",
            ["cause", "from_level", "department", "district"], registry=r)
        self.closed = Counter(
            "sankalp_complaints_closed_total", "Complaints closed.",
            ["reason", "department", "district"], registry=r)
        self.reopened = Counter(
            "sankalp_complaints_reopened_total", "Closed complaints opened again.",
            ["cause"], registry=r)
        self.sla_warnings = Counter(
            "sankalp_sla_warnings_total", "SLA warnings sent.", ["level", "fraction"],
            registry=r)
        self.overdue_reminders = Counter(
            "sankalp_overdue_at_state_reminders_total",
            "Reminders for complaints overdue at the state level.", ["department"], registry=r)
        self.duplicates = Counter(
            "sankalp_complaints_duplicate_linked_total", "Submissions linked to an open "
            "complaint.", ["channel"], registry=r)
        self.rejected = Counter(
            "sankalp_commands_rejected_total", "Commands the complaint's state did not allow.",
            ["command"], registry=r)
        self.partition_stalls = Counter(
            "sankalp_worker_partition_stalls_total", "Input partitions found with a backlog "
            "and no progress, resumed by the worker.", ["topic"], registry=r)
        self.offset_jumps = Counter(
            "sankalp_worker_offset_jumps_total", "Times an input message arrived while an "
            "earlier offset was still unhandled; the worker read again from there.",
            ["topic"], registry=r)
        self.dead_lettered = Counter(
            "sankalp_dead_letters_total", "Inputs sent to the dead-letter topic.",
            ["source_topic"], registry=r)
        self.open = Gauge(
            "sankalp_complaints_open", "Open complaints now.",
            ["level", "department", "district"], registry=r)
        self.overdue = Gauge(
            "sankalp_complaints_overdue", "Open complaints past their time limit now.",
            ["level", "department", "district"], registry=r)
        self.sla_compliance = Gauge(
            "sankalp_sla_compliance_ratio", "Share of complaints closed in the last 30 days "
            "that never missed a deadline.", ["department", "district"], registry=r)
        self.resolution_seconds = Histogram(
            "sankalp_time_to_resolution_seconds", "Registration to closure.",
            ["department"], buckets=RESOLUTION_BUCKETS, registry=r)
        self.escalation_delay_seconds = Histogram(
            "sankalp_escalation_delay_seconds", "How long after its due time a deadline "
            "escalation fired.", buckets=DELAY_BUCKETS, registry=r)
        self.processing_latency_seconds = Histogram(
            "sankalp_processing_latency_seconds", "From a command's arrival on Kafka to its "
            "effects being acknowledged.", ["agent"], buckets=LATENCY_BUCKETS, registry=r)
        self.consumer_lag = Gauge(
            "sankalp_consumer_lag_messages", "Messages not yet consumed, per topic.",
            ["consumer", "topic"], registry=r)
        self.sink_rows = Counter(
            "sankalp_sink_rows_written_total", "Rows written to Postgres.", ["table"],
            registry=r)
        self.sink_up = Gauge(
            "sankalp_sink_postgres_up", "1 while the sink can reach Postgres, else 0.",
            registry=r)
