"""The measurements of `sankalp bench`, each against the real broker, workers and Postgres.

Every function returns a dict of figures; `bench.run` puts them side by side, as ratios to
the raw Kafka baseline measured in the same run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer

from core.reference import category
from devstack.runners import SinkProcess, WorkerProcess
from schemas.events import ComplaintSubmitted, Event
from simulator.traffic import Traffic, TrafficProfile
from sinks.migrate import migrate
from sinks.postgres import connect
from streams.admin import delete_topics_with_prefix, ensure_topics
from streams.producer import EventPublisher, make_producer
from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import ALL_TOPICS, COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED, TopicSpec


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def submissions(n: int, seed: int = 1100, start: datetime | None = None
                ) -> list[ComplaintSubmitted]:
    profile = TrafficProfile(seed=seed, days=n / 2000 + 1, complaints_per_day=2000,
                             **({"start": start} if start else {}))
    out = []
    for event in Traffic(profile):
        if isinstance(event, ComplaintSubmitted):
            out.append(event)
            if len(out) >= n:
                break
    return out


class Rig:
    """A private app id, topic prefix and schema; a worker and a sink as child processes."""

    def __init__(self, base: Settings, work: Path, **overrides: object) -> None:
        name = f"bench{uuid.uuid4().hex[:6]}"
        separator = "&" if "?" in base.database_url else "?"
        self.schema = name
        self.base_url = base.database_url
        self.settings = base.with_overrides(
            app_id=f"sankalp-{name}", topic_prefix=f"{name}.", worker_data_dir=work / name,
            database_url=f"{base.database_url}{separator}options=-csearch_path%3D{name}",
            metrics_port=0, sink_metrics_port=0, **overrides)
        self.work = work
        ensure_topics(self.settings, ALL_TOPICS)
        conn = connect(base.database_url, base.database_password)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{name}"')
        conn.close()
        conn = connect(self.settings.database_url, self.settings.database_password)
        migrate(conn)
        self.conn = conn
        self.worker = WorkerProcess(self.settings, work / f"{name}-worker.log")
        self.sink = SinkProcess(self.settings, work / f"{name}-sink.log")
        self.publisher = EventPublisher(self.settings)

    def start(self, sink: bool = True) -> None:
        self.worker.start()
        if sink:
            self.sink.start()
        self.worker.wait_ready(180)
        if sink:
            self.sink.wait_ready(120)

    def send(self, events: Iterable[Event], watermark_every: timedelta | None = None) -> None:
        """Publish in order; in event time, a watermark (clock tick) every simulated
        `watermark_every` moves the workers' clock so deadlines fire on the way."""
        mark: datetime | None = None
        for event in events:
            if watermark_every is not None:
                mark = mark or event.occurred_at
                while mark + watermark_every <= event.occurred_at:
                    mark += watermark_every
                    self.publisher.watermark(mark)
            topic = (COMPLAINTS_SUBMITTED if isinstance(event, ComplaintSubmitted)
                     else COMPLAINT_COMMANDS)
            self.publisher.send(topic.name, event.complaint_id, event)
        if mark is not None:
            self.publisher.watermark(mark + watermark_every)
        self.publisher.flush(120)

    def rows(self, sql: str = "SELECT count(*) FROM complaint_current") -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            value = cur.fetchone()[0]
        self.conn.rollback()
        return value

    def wait_rows(self, n: int, timeout: float, sql: str | None = None) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.worker.check_healthy()
            if self.rows(*([sql] if sql else [])) >= n:
                return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError(f"only {self.rows()} of {n} rows after {timeout:.0f}s")

    def rss_kib(self) -> int:
        pid = self.worker._proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        self.worker.stop()
        self.sink.stop()
        self.conn.close()
        delete_topics_with_prefix(self.settings.kafka_bootstrap_servers,
                                  self.settings.topic_prefix, self.settings.app_id,
                                  settings=self.settings)
        conn = connect(self.base_url, self.settings.database_password)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        conn.close()


def raw_kafka(base: Settings, n: int) -> dict:
    """confluent-kafka produce + consume of submission-sized messages, same partitions."""
    name = f"bench-raw-{uuid.uuid4().hex[:6]}"
    settings = base.with_overrides(topic_prefix=f"{name}.")
    spec = TopicSpec(name="raw", key="complaint_id", carries="benchmark")
    ensure_topics(settings, [spec])
    topic = settings.topic("raw")
    payloads = [(s.complaint_id.encode(), s.to_json()) for s in submissions(n)]
    producer = make_producer(settings)
    started = time.monotonic()
    for key, value in payloads:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    produced = time.monotonic() - started
    consumer = Consumer(confluent_config(settings)
                        | {"group.id": name, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen = 0
    started = time.monotonic()
    while seen < n and time.monotonic() - started < 120:
        seen += sum(1 for m in consumer.consume(10000, 0.5) if not m.error())
    consumed = time.monotonic() - started
    consumer.close()
    delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.topic_prefix,
                              settings=settings)
    return {"messages": n, "produce_per_s": n / produced, "consume_per_s": seen / consumed,
            "round_trip_per_s": n / (produced + consumed)}


def pipeline_throughput(base: Settings, work: Path, n: int) -> dict:
    """Submissions through intake and lifecycle into complaint_current, sustained."""
    rig = Rig(base, work, clock="event")
    try:
        rig.start()
        events = submissions(n)
        started = time.monotonic()
        rig.send(events)
        rig.wait_rows(n, timeout=max(300, n / 20))
        elapsed = time.monotonic() - started
        rows = rig.rows("SELECT count(*) FROM complaint_event") + n
        return {"complaints": n, "seconds": elapsed, "complaints_per_s": n / elapsed,
                # each complaint is three agent steps: validate, register, lifecycle
                "agent_events_per_s": 3 * n / elapsed, "sink_rows": rows,
                "sink_rows_per_s": rows / elapsed}
    finally:
        rig.close()


def latency(base: Settings, work: Path, rate: float, seconds: float) -> dict:
    """Offered load at a fixed rate: submission -> assignment event, -> Postgres row."""
    rig = Rig(base, work, clock="event")
    try:
        rig.start()
        consumer = Consumer(confluent_config(rig.settings)
                            | {"group.id": f"{rig.schema}-lat", "auto.offset.reset": "latest"})
        consumer.subscribe([rig.settings.topic("complaints.events.v1")])
        while not consumer.assignment():
            consumer.poll(0.1)
        events = submissions(int(rate * seconds))
        sent_at: dict[str, float] = {}
        to_assigned: list[float] = []
        producer = make_producer(rig.settings, **{"linger.ms": 0})
        started = time.monotonic()
        for i, event in enumerate(events):
            due = started + i / rate
            while time.monotonic() < due:
                _collect(consumer, sent_at, to_assigned, 0)
            producer.produce(rig.settings.topic(COMPLAINTS_SUBMITTED.name),
                             key=event.complaint_id.encode(), value=event.to_json())
            producer.poll(0)
            sent_at[event.complaint_id] = time.monotonic()
        producer.flush(60)
        deadline = time.monotonic() + 60
        while len(to_assigned) < len(events) and time.monotonic() < deadline:
            _collect(consumer, sent_at, to_assigned, 0.2)
        consumer.close()
        rig.wait_rows(len(events), timeout=120)
        to_row = time.monotonic() - sent_at[events[-1].complaint_id]
        return {"offered_per_s": rate, "complaints": len(events),
                "assigned_p50_ms": 1000 * percentile(to_assigned, 0.5),
                "assigned_p99_ms": 1000 * percentile(to_assigned, 0.99),
                "last_to_postgres_ms": 1000 * to_row}
    finally:
        rig.close()


def _collect(consumer: Consumer, sent_at: dict, out: list, timeout: float) -> None:
    for message in consumer.consume(1000, timeout):
        if message.error() or b"complaint.assigned" not in (message.value() or b""):
            continue
        sent = sent_at.get(message.key().decode())
        if sent is not None:
            out.append(time.monotonic() - sent)


def escalations_under_load(base: Settings, work: Path, open_complaints: int) -> dict:
    """Hold N open complaints in one worker (wall clock), all falling due within a minute
    once registered; measure how late each escalation fires, the worker's memory per open
    complaint, and how long a restarted worker takes to process again."""
    rig = Rig(base, work, clock="wall", weekly_offs="none")
    try:
        rig.start(sink=False)
        rss_before = rig.rss_kib()
        sla = category("drinking_water_supply").sla_working_days
        # registered so that they fall due a little after all of them are in
        lead = max(15.0, open_complaints / 150)
        due_from = datetime.now(UTC) + timedelta(seconds=lead)
        events = []
        for i, s in enumerate(submissions(open_complaints)):
            at = due_from + timedelta(seconds=30 * i / open_complaints) - timedelta(days=sla)
            events.append(ComplaintSubmitted(**{**s.__dict__, "occurred_at": at,
                                                "category": "drinking_water_supply"}))
        consumer = Consumer(confluent_config(rig.settings)
                            | {"group.id": f"{rig.schema}-esc", "auto.offset.reset": "earliest"})
        consumer.subscribe([rig.settings.topic("complaints.events.v1")])
        rig.send(events)
        delays: list[float] = []
        assigned = 0
        deadline = time.monotonic() + lead + 120 + open_complaints / 100
        from schemas.events import ComplaintAssigned, ComplaintEscalated, decode

        rss_open = 0
        while len(delays) < open_complaints and time.monotonic() < deadline:
            for message in consumer.consume(5000, 0.5):
                if message.error():
                    continue
                event = decode(message.value())
                if isinstance(event, ComplaintAssigned):
                    assigned += 1
                    if assigned == open_complaints:
                        rss_open = rig.rss_kib()
                elif isinstance(event, ComplaintEscalated):
                    # An escalation is dated at its due moment: its delay is how long after
                    # that a subscriber received it.
                    delays.append(time.time() - event.previous_due_at.timestamp())
        consumer.close()
        # Recovery: the same worker restarted with its complaints in its tables.
        rig.worker.stop()
        started = time.monotonic()
        rig.worker = WorkerProcess(rig.settings, rig.worker.log_file).start()
        rig.worker.wait_ready(600)
        recovery = time.monotonic() - started
        return {"open_complaints": open_complaints, "escalated": len(delays),
                "delay_p50_s": percentile(delays, 0.5), "delay_p99_s": percentile(delays, 0.99),
                "delay_max_s": max(delays) if delays else float("nan"),
                "rss_kib_before": rss_before, "rss_kib_open": rss_open,
                "bytes_per_open_complaint": (1024 * (rss_open - rss_before) / open_complaints
                                             if rss_open else float("nan")),
                "recovery_seconds": recovery}
    finally:
        rig.close()


def backtest(base: Settings, work: Path, days: float, per_day: float) -> dict:
    """A stretch of simulated Himachal traffic replayed in event time, as fast as it goes."""
    rig = Rig(base, work, clock="event")
    try:
        rig.start()
        traffic = list(Traffic(TrafficProfile(days=days, complaints_per_day=per_day)))
        complaints = sum(1 for e in traffic if isinstance(e, ComplaintSubmitted))
        started = time.monotonic()
        rig.send(traffic, watermark_every=timedelta(hours=1))
        rig.wait_rows(complaints, timeout=max(600, complaints / 20))
        # every command applied: the worker's group has nothing left to read
        elapsed = time.monotonic() - started
        year = 150_000
        return {"simulated_days": days, "complaints": complaints, "events": len(traffic),
                "seconds": elapsed, "events_per_s": len(traffic) / elapsed,
                "himachal_year_estimate_s": elapsed * year / complaints,
                "escalations": rig.rows("SELECT count(*) FROM escalation")}
    finally:
        rig.close()


def sink_alone(base: Settings, work: Path, complaints: int) -> dict:
    """The sink by itself: pipeline output already on the topics (as the core produces it
    for registrations), written into Postgres as fast as it goes."""
    from core.lifecycle import Context, decide, snapshot
    from core.reference import OfficerDirectory, build_officer_directory
    from schemas.events import ComplaintRegistered
    from sinks.postgres_sink import PostgresSink
    from streams.topics import COMPLAINT_EVENTS, COMPLAINT_STATE

    rig = Rig(base, work)
    try:
        ctx = Context(directory=OfficerDirectory(build_officer_directory()))
        for s in submissions(complaints):
            decision = decide(None, ComplaintRegistered(
                event_id=s.event_id, complaint_id=s.complaint_id, occurred_at=s.occurred_at,
                channel=s.channel, category=s.category, district=s.district, block=s.block,
                text=s.text, citizen_ref="bench"), ctx)
            rig.publisher.send(COMPLAINT_STATE.name, s.complaint_id, snapshot(decision.state))
            for event in decision.events:
                rig.publisher.send(COMPLAINT_EVENTS.name, s.complaint_id, event)
        rig.publisher.flush(120)
        sink = PostgresSink(rig.settings, gauge_every=60)
        started = time.monotonic()
        sink.run(idle_exit_after=2.0)
        joined = sink._assigned_at or started
        elapsed = time.monotonic() - joined - 2.0
        return {"rows": sink.rows_written, "seconds": elapsed,
                "rows_per_s": sink.rows_written / elapsed}
    finally:
        rig.close()
