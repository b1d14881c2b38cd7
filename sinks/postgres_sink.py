"""The Postgres sink: current state, history, escalations, lapses and contacts, with the
Kafka offsets in the same transaction as the rows.

Order of a batch: rows + offsets commit together in Postgres; only then are the metrics
counted. Kafka's own committed offsets are never used: on partition assignment the sink
reads its position from Postgres, so a row is never lost and never written twice.
When Postgres is down or slow the sink holds its batch, backs off, says so in the log and
on `sankalp_sink_postgres_up`, and carries on from where it was when Postgres is back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import psycopg2
import psycopg2.extensions
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from psycopg2.extras import execute_values

from sinks import migrate
from sinks.lag import GroupLag
from sinks.metrics import Metrics
from sinks.postgres import connect
from sinks.rows import (
    CONTACT_COLUMNS,
    ESCALATION_COLUMNS,
    EVENT_COLUMNS,
    LAPSE_COLUMNS,
    LAPSE_FIGURES,
    STATE_COLUMNS,
    Batch,
    Record,
)
from streams.security import confluent_config, redact_url
from streams.settings import Settings
from streams.topics import CITIZEN_CONTACTS, COMPLAINT_EVENTS, COMPLAINT_STATE, DEAD_LETTERS

log = logging.getLogger("sankalp.sink")

TOPIC_KINDS = {
    COMPLAINT_EVENTS.name: "events",
    COMPLAINT_STATE.name: "state",
    CITIZEN_CONTACTS.name: "contacts",
    DEAD_LETTERS.name: "dead_letters",
}

_UPDATE_STATE = ", ".join(f"{c} = EXCLUDED.{c}" for c in STATE_COLUMNS[1:])
_UPDATE_LAPSE = ", ".join(f"{c} = EXCLUDED.{c}" for c in LAPSE_FIGURES)
STATEMENTS = {
    "complaint_current": (
        f"INSERT INTO complaint_current ({', '.join(STATE_COLUMNS)}) VALUES %s "
        f"ON CONFLICT (complaint_id) DO UPDATE SET {_UPDATE_STATE} "
        "WHERE complaint_current.version < EXCLUDED.version"),
    "complaint_event": (
        f"INSERT INTO complaint_event ({', '.join(EVENT_COLUMNS)}) VALUES %s "
        "ON CONFLICT (event_id) DO NOTHING"),
    "escalation": (
        f"INSERT INTO escalation ({', '.join(ESCALATION_COLUMNS)}) VALUES %s "
        "ON CONFLICT (event_id) DO NOTHING"),
    # One row per lapse: a later record of it (a state-level reminder) replaces the
    # figures only when it is further past due, so a redelivery or a replay of an earlier
    # reminder leaves the row as it is (migration 0004 grants the UPDATE).
    "lapse": (
        f"INSERT INTO lapse ({', '.join(LAPSE_COLUMNS)}) VALUES %s "
        f"ON CONFLICT (lapse_id) DO UPDATE SET {_UPDATE_LAPSE} "
        "WHERE lapse.overdue_seconds < EXCLUDED.overdue_seconds"),
    "citizen_contact": (
        f"INSERT INTO citizen_contact ({', '.join(CONTACT_COLUMNS)}) VALUES %s "
        "ON CONFLICT (complaint_id) DO NOTHING"),
}
# Run before the table's statement above: an upsert in two steps. `ON CONFLICT DO UPDATE
# SET x = EXCLUDED.x` needs SELECT on x, and the sink's role (migration 0003) must not be
# able to read phone numbers and names back; this UPDATE only reads complaint_id.
UPDATES_FIRST = {
    "citizen_contact": (
        "UPDATE citizen_contact AS c SET citizen_ref = v.citizen_ref, "
        "citizen_phone = v.citizen_phone, citizen_name = v.citizen_name "
        f"FROM (VALUES %s) AS v ({', '.join(CONTACT_COLUMNS)}) "
        "WHERE c.complaint_id = v.complaint_id"),
}
SAVE_OFFSETS = (
    "INSERT INTO sink_offset (consumer, kafka_topic, kafka_partition, next_offset) VALUES %s "
    "ON CONFLICT (consumer, kafka_topic, kafka_partition) DO UPDATE "
    "SET next_offset = GREATEST(sink_offset.next_offset, EXCLUDED.next_offset)")

GAUGE_QUERY = """
SELECT level, department, district, count(*),
       count(*) FILTER (WHERE due_at < now() AND status IN ('assigned',
                                                             'special_close_proposed'))
FROM complaint_current
WHERE status NOT IN ('closed', 'special_closed')
GROUP BY 1, 2, 3
"""
COMPLIANCE_QUERY = """
SELECT c.department, c.district,
       avg(CASE WHEN EXISTS (SELECT 1 FROM lapse l WHERE l.complaint_id = c.complaint_id)
                THEN 0 ELSE 1 END)
FROM complaint_current c
WHERE c.closed_at IS NOT NULL AND c.closed_at > now() - interval '30 days'
GROUP BY 1, 2
"""


class PostgresSink:
    def __init__(self, settings: Settings, metrics: Metrics | None = None, *,
                 max_batch: int = 5000, gauge_every: float = 2.0,
                 lag_every: float = 10.0,
                 before_commit: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.consumer_name = f"{settings.app_id}-postgres-sink"
        self.max_batch = max_batch
        self.gauge_every = gauge_every
        self.lag_every = lag_every
        # The Faust workers' lag, read by a consumer of its own (sinks/lag.py says why not
        # the Admin API); made on first use, closed when run() ends.
        self._worker_lag: GroupLag | None = None
        self.kinds = {settings.topic(name): kind for name, kind in TOPIC_KINDS.items()}
        self._conn: psycopg2.extensions.connection | None = None
        self._stop = threading.Event()
        self.rows_written = 0
        self.batches_written = 0
        self._assigned_at: float | None = None
        # Called with a batch written and not yet committed: the crash tests kill the
        # process there (tests/kit/failpoints.py).
        self._before_commit = before_commit

    # --- Postgres, patiently ---------------------------------------------------------
    def _connection(self) -> psycopg2.extensions.connection:
        delay = 0.5
        while self._conn is None or self._conn.closed:
            try:
                self._conn = connect(self.settings.database_url,
                                     self.settings.database_password, connect_timeout=5)
                self.metrics.sink_up.set(1)
                log.info("connected to Postgres at %s", redact_url(self.settings.database_url))
            except psycopg2.OperationalError as exc:
                self._down(exc, delay)
                delay = min(delay * 2, 10.0)
                if self._stop.is_set():
                    raise
        return self._conn

    def _down(self, exc: Exception, delay: float) -> None:
        self.metrics.sink_up.set(0)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("Postgres unavailable (%s); holding the batch, retrying in %.1fs",
                    reason, delay)
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
        self._stop.wait(delay)

    def _with_postgres(self, action: Callable[[psycopg2.extensions.connection], object]):
        """Run `action` in a transaction until it succeeds (or the sink is stopped)."""
        delay = 0.5
        while True:
            conn = self._connection()
            try:
                with conn, conn.cursor() as cur:
                    return action(cur)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                if self._stop.is_set():
                    raise
                self._down(exc, delay)
                delay = min(delay * 2, 10.0)

    # --- Kafka -----------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition where the rows in Postgres say, not where Kafka says."""
        def read(cur):
            cur.execute("SELECT kafka_topic, kafka_partition, next_offset FROM sink_offset "
                        "WHERE consumer = %s", (self.consumer_name,))
            return {(t, p): o for t, p, o in cur.fetchall()}

        stored = self._with_postgres(read)
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)
        self._assigned_at = time.monotonic()
        log.info("assigned %d partition(s); resuming from Postgres offsets", len(partitions))

    def write(self, batch: Batch) -> None:
        def apply(cur):
            tables = {
                "complaint_current": batch.state, "complaint_event": batch.events,
                "escalation": batch.escalations, "lapse": batch.lapses,
                "citizen_contact": batch.contacts,
            }
            for table, rows in tables.items():
                if rows:
                    if table in UPDATES_FIRST:
                        execute_values(cur, UPDATES_FIRST[table], list(rows.values()),
                                       page_size=1000)
                    execute_values(cur, STATEMENTS[table], list(rows.values()), page_size=1000)
            if batch.offsets:
                execute_values(cur, SAVE_OFFSETS, [
                    (self.consumer_name, topic, partition, offset)
                    for (topic, partition), offset in batch.offsets.items()])
            # Rows and offsets are written, the COMMIT (leaving `with conn`) is not: a crash
            # here must lose the whole batch, and a restart must write it exactly once.
            if self._before_commit is not None:
                self._before_commit()
            return {t: len(r) for t, r in tables.items()}

        counts = self._with_postgres(apply)
        for table, count in counts.items():
            if count:
                self.metrics.sink_rows.labels(table).inc(count)
        self.rows_written += len(batch)
        self.batches_written += 1
        self._count(batch)

    def _count(self, batch: Batch) -> None:
        """Counters move only once the rows are durable."""
        from sinks.observe import count_events

        count_events(self.metrics, batch.decoded_events, batch.dead_letters)
        for problem in batch.unreadable:
            log.error("skipped an unreadable record (a pipeline bug): %s", problem)

    def refresh_gauges(self) -> None:
        def query(cur):
            cur.execute(GAUGE_QUERY)
            open_rows = cur.fetchall()
            cur.execute(COMPLIANCE_QUERY)
            return open_rows, cur.fetchall()

        open_rows, compliance = self._with_postgres(query)
        # Rebuilt from the table every time: right after a restart, never reset to zero.
        self.metrics.open.clear()
        self.metrics.overdue.clear()
        for level, department, district, count, overdue in open_rows:
            self.metrics.open.labels(str(level), department, district).set(count)
            self.metrics.overdue.labels(str(level), department, district).set(overdue)
        self.metrics.sla_compliance.clear()
        for department, district, ratio in compliance:
            self.metrics.sla_compliance.labels(department, district).set(float(ratio))

    def refresh_worker_lag(self) -> None:
        """The Faust workers' consumer group (their group id is the app id)."""
        from streams.topics import WORKER_INPUTS

        topics = [self.settings.topic(t.name) for t in WORKER_INPUTS]
        try:
            if self._worker_lag is None:
                self._worker_lag = GroupLag(self.settings, self.settings.app_id)
            # Bounded (a few seconds at most, then {}): this runs on the sink's only thread.
            lags = self._worker_lag.read(topics)
        except Exception as exc:  # a gauge must never stop the sink
            log.warning("workers' consumer lag not read this time: %s", exc)
            return
        for topic, lag in lags.items():
            self.metrics.consumer_lag.labels(self.settings.app_id, topic).set(lag)

    def _on_stats(self, raw: str) -> None:
        stats = json.loads(raw)
        for topic, data in stats.get("topics", {}).items():
            lag = sum(max(0, p.get("consumer_lag", -1))
                      for pid, p in data.get("partitions", {}).items() if pid != "-1")
            self.metrics.consumer_lag.labels(self.consumer_name, topic).set(lag)

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, idle_exit_after: float | None = None) -> None:
        """Consume until stopped (or, for tests and catch-up jobs, until idle that long)."""
        migrate.check(self._connection())
        consumer = Consumer({
            **confluent_config(self.settings),
            "group.id": self.consumer_name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # A long Postgres outage holds the batch without polling; stay in the group.
            "max.poll.interval.ms": 30 * 60 * 1000,
            # A crashed sink (no LeaveGroup) holds its partitions until its session expires;
            # the same bound as the workers' (SANKALP_SESSION_TIMEOUT_SECONDS) rather than
            # librdkafka's 45 s, so a restarted sink resumes promptly.
            "session.timeout.ms": int(self.settings.session_timeout_seconds * 1000),
            "heartbeat.interval.ms": max(
                500, min(3000, int(self.settings.session_timeout_seconds * 1000 / 3))),
            # librdkafka reports each partition's lag in its statistics: no extra requests.
            "statistics.interval.ms": 2000,
            "stats_cb": self._on_stats,
        })
        consumer.subscribe(list(self.kinds), on_assign=self._on_assign)
        last_gauges = 0.0
        last_lag = 0.0
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    messages = consumer.consume(self.max_batch, timeout=0.5)
                except KafkaException as exc:
                    log.warning("Kafka: %s", exc)
                    continue
                batch = Batch()
                for message in messages:
                    if message.error():
                        continue
                    batch.add(Record(message.topic(), message.partition(), message.offset(),
                                     message.value()), self.kinds[message.topic()])
                if batch.offsets:
                    self.write(batch)
                    idle_since = time.monotonic()
                if time.monotonic() - last_gauges >= self.gauge_every:
                    self.refresh_gauges()
                    last_gauges = time.monotonic()
                if time.monotonic() - last_lag >= self.lag_every:
                    self.refresh_worker_lag()
                    last_lag = time.monotonic()
                # Idle counts from the first assignment: joining the group takes a while.
                if self._assigned_at is not None:
                    idle_since = max(idle_since, self._assigned_at)
                    if (idle_exit_after is not None
                            and time.monotonic() - idle_since > idle_exit_after):
                        break
        finally:
            consumer.close()
            if self._worker_lag is not None:
                self._worker_lag.close()
                self._worker_lag = None
            if self._conn is not None:
                self._conn.close()


def run_sink(sink: PostgresSink) -> int:
    """Run the sink until SIGTERM / SIGINT: wait for Kafka and its topics, serve metrics,
    write batches. 2 when SANKALP_KAFKA_WAIT_SECONDS ran out."""
    import signal

    from prometheus_client import start_http_server

    from streams.kafka_wait import wait_for_kafka_or_give_up

    settings = sink.settings
    logging.basicConfig(level=settings.log_level.upper(),
                        format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    if not wait_for_kafka_or_give_up(settings, sorted(sink.kinds), "the sink"):
        return 2
    if settings.sink_metrics_port:
        start_http_server(settings.sink_metrics_port, registry=sink.metrics.registry)
        print(f"sink metrics on http://127.0.0.1:{settings.sink_metrics_port}/metrics",
              flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sink.stop())
    signal.signal(signal.SIGINT, lambda *_: sink.stop())
    sink.run()
    return 0
