"""The measurements of `sankalp bench`, each against the real broker, workers and Postgres.

Every function returns a dict of figures; `bench.run` puts them side by side, as ratios to
the raw Kafka baseline and to the bare Faust agent (bench/ceiling.py) measured in the same
run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from core.reference import category
from devstack.runners import SinkProcess, WorkerProcess
from schemas.events import ComplaintSubmitted, Event
from simulator.traffic import Traffic, TrafficProfile
from sinks.migrate import migrate
from sinks.postgres import connect
from streams.admin import admin_client, delete_topics_with_prefix, ensure_topics
from streams.producer import EventPublisher, make_producer
from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import (
    ALL_TOPICS,
    COMPLAINT_COMMANDS,
    COMPLAINTS_SUBMITTED,
    INTAKE_BY_CITIZEN,
    TopicSpec,
)


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


def pid_of(process: WorkerProcess) -> int:
    if process._proc is None:
        raise RuntimeError(f"{process.log_file.name}: the process was not started")
    return process._proc.pid


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user + system over all its threads (/proc/<pid>/stat;
    the fields after the command name, which is in parentheses and may hold spaces)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rig:
    """A private app id, topic prefix and schema; workers and a sink as child processes.

    `workers` worker processes join one consumer group, each with its own table store;
    `postgres=False` makes no schema (a rig for the bare Faust agent)."""

    def __init__(self, base: Settings, work: Path, *, workers: int = 1,
                 postgres: bool = True, topics: Iterable[TopicSpec] = ALL_TOPICS,
                 **overrides: object) -> None:
        name = f"bench{uuid.uuid4().hex[:6]}"
        separator = "&" if "?" in base.database_url else "?"
        self.schema = name
        self.base_url = base.database_url
        self.settings = base.with_overrides(
            app_id=f"sankalp-{name}", topic_prefix=f"{name}.", worker_data_dir=work / name,
            database_url=f"{base.database_url}{separator}options=-csearch_path%3D{name}",
            metrics_port=0, sink_metrics_port=0, **overrides)
        self.work = work
        self.postgres = postgres
        self.conn = None
        ensure_topics(self.settings, list(topics))
        if postgres:
            conn = connect(base.database_url, base.database_password)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE SCHEMA "{name}"')
            conn.close()
            self.conn = connect(self.settings.database_url, self.settings.database_password)
            migrate(self.conn)
        # each worker its own table store (RocksDB locks its directory), one group
        self.workers: list[WorkerProcess] = [
            WorkerProcess(self.settings.with_overrides(
                worker_data_dir=work / (name if i == 0 else f"{name}-w{i + 1}")),
                work / (f"{name}-worker.log" if i == 0 else f"{name}-worker{i + 1}.log"))
            for i in range(workers)]
        self.sink = SinkProcess(self.settings, work / f"{name}-sink.log")
        self.publisher = EventPublisher(self.settings)

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[0]

    @worker.setter
    def worker(self, process: WorkerProcess) -> None:
        self.workers[0] = process

    def start(self, sink: bool = True) -> None:
        for worker in self.workers:
            worker.start()
        if sink:
            self.sink.start()
        for worker in self.workers:
            worker.wait_ready(180)
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
            for worker in self.workers:
                worker.check_healthy()
            if self.rows(*([sql] if sql else [])) >= n:
                return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError(f"only {self.rows()} of {n} rows after {timeout:.0f}s")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{pid_of(self.worker)}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> list[float]:
        """Each worker process's own CPU time so far (user + system, all its threads)."""
        return [cpu_seconds(pid_of(worker)) for worker in self.workers]

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.sink.stop()
        delete_topics_with_prefix(self.settings.kafka_bootstrap_servers,
                                  self.settings.topic_prefix, self.settings.app_id,
                                  settings=self.settings)
        if not self.postgres:
            return
        self.conn.close()
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


PIPELINE_INPUTS = (COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN, COMPLAINT_COMMANDS)


def pipeline_throughput(base: Settings, work: Path, n: int, workers: int = 1) -> dict:
    """Submissions through intake and lifecycle into complaint_current, sustained; the CPU
    time the worker processes spent on it; with several workers (one group), how evenly
    the input partitions and the work spread across them."""
    rig = Rig(base, work, clock="event", workers=workers)
    try:
        rig.start()
        before = None
        if workers > 1:
            before = wait_group_stable(rig.settings, rig.settings.app_id, workers,
                                       PIPELINE_INPUTS)
        events = submissions(n)
        cpu_before = rig.cpu_seconds()
        started = time.monotonic()
        rig.send(events)
        rig.wait_rows(n, timeout=max(300, n / 20))
        elapsed = time.monotonic() - started
        cpu = [after - b for after, b in zip(rig.cpu_seconds(), cpu_before, strict=True)]
        rows = rig.rows("SELECT count(*) FROM complaint_event") + n
        # each complaint is three agent steps: validate, register, lifecycle
        agent_events = 3 * n
        figures = {"workers": workers, "complaints": n, "seconds": elapsed,
                   "complaints_per_s": n / elapsed,
                   "agent_events_per_s": agent_events / elapsed, "sink_rows": rows,
                   "sink_rows_per_s": rows / elapsed, "worker_cpu_s": sum(cpu),
                   "worker_cpu_s_per_1000_events": sum(cpu) / (agent_events / 1000)}
        if workers > 1:
            figures["worker_cpu_s_each"] = cpu
            figures["spread"] = spread(rig.settings, before, PIPELINE_INPUTS, cpu)
        return figures
    finally:
        rig.close()


def group_assignment(admin: Any, group: str) -> tuple[str, dict[str, list]]:
    """The group's state and each member's assigned partitions, as the broker holds them
    (Faust's assignor writes the standard assignment layout). `admin` must outlive the
    answer (an AdminClient's futures fail once it is gone)."""
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    members = {m.member_id: sorted((tp.topic, tp.partition)
                                   for tp in (m.assignment.topic_partitions
                                              if m.assignment else []))
               for m in description.members}
    return str(getattr(description.state, "name", description.state)), members


def _input_partitions(settings: Settings, inputs: Iterable[TopicSpec]) -> set:
    return {(settings.topic(spec.name), p) for spec in inputs
            for p in range(spec.partitions_for(settings))}


def wait_group_stable(settings: Settings, group: str, members: int,
                      inputs: Iterable[TopicSpec], timeout: float = 120) -> dict[str, list]:
    """Until the group is stable with `members` members holding every input partition
    between them and each some of them; the assignment then."""
    expected = _input_partitions(settings, inputs)
    deadline = time.monotonic() + timeout
    state, assignment = "-", {}
    admin = admin_client(settings)
    while time.monotonic() < deadline:
        state, assignment = group_assignment(admin, group)
        held = [set(parts) & expected for parts in assignment.values()]
        if (state.upper() == "STABLE" and len(held) == members and all(held)
                and set().union(*held) == expected):
            return assignment
        time.sleep(0.5)
    raise TimeoutError(f"group {group} not stable with {members} members holding the "
                       f"inputs after {timeout:.0f}s: state {state}, "
                       f"{ {m: len(p) for m, p in assignment.items()} }")


def spread(settings: Settings, before: dict[str, list], inputs: Iterable[TopicSpec],
           cpu: list[float]) -> dict:
    """How evenly the work spread over the group's members: input partitions each held,
    the input messages on them (what each handled, if the assignment held still), and
    each worker process's CPU seconds."""
    inputs = list(inputs)
    expected = _input_partitions(settings, inputs)
    admin = admin_client(settings)
    _, after = group_assignment(admin, settings.app_id)
    consumer = Consumer(confluent_config(settings) | {"group.id": f"{settings.app_id}-spread"})
    try:
        messages = {}
        for topic, partition in sorted(expected):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                       timeout=10)
            messages[(topic, partition)] = high - low
    finally:
        consumer.close()
    held = [sorted(set(map(tuple, parts)) & expected) for parts in after.values()]
    handled = [sum(messages[tp] for tp in parts) for parts in held]
    return {"assignment_unchanged": before == after,
            "input_partitions_each": [len(parts) for parts in held],
            "input_messages_each": handled,
            "input_messages_max_share": max(handled) / max(1, sum(handled)) if handled else None,
            "cpu_max_share": max(cpu) / sum(cpu) if cpu and sum(cpu) else None}


def bare_faust(base: Settings, work: Path, n: int, with_table: bool = True) -> dict:
    """Faust's ceiling (bench/ceiling.py): a bare agent with our worker's app settings,
    one table write (or none) and one send per event, measured as the pipeline is: from
    the first send until all n outputs are seen and the input offsets are committed."""
    from bench.ceiling import BARE_IN, BARE_OUT, BareProcess, bare_app_id

    rig = Rig(base, work, postgres=False, topics=[BARE_IN, BARE_OUT], workers=0)
    consumer = None
    try:
        rig.workers = [BareProcess(rig.settings, work / f"{rig.schema}-bare.log", with_table)]
        rig.start(sink=False)
        consumer = Consumer(confluent_config(rig.settings)
                            | {"group.id": f"{rig.schema}-out", "auto.offset.reset": "earliest"})
        consumer.subscribe([rig.settings.topic(BARE_OUT.name)])
        while not consumer.assignment():
            consumer.poll(0.1)
        events = submissions(n)
        cpu_before = rig.cpu_seconds()[0]
        started = time.monotonic()
        for event in events:
            rig.publisher.send(BARE_IN.name, event.complaint_id, event)
        rig.publisher.flush(120)
        seen = 0
        deadline = started + max(300, n / 20)
        while seen < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bare agent: {seen} of {n} outputs seen")
            rig.worker.check_healthy()
            seen += sum(1 for m in consumer.consume(10000, 0.1) if not m.error())
        wait_committed(rig.settings, bare_app_id(rig.settings), BARE_IN, n, deadline)
        elapsed = time.monotonic() - started
        cpu = rig.cpu_seconds()[0] - cpu_before
        return {"events": n, "with_table": with_table, "seconds": elapsed,
                "events_per_s": n / elapsed, "worker_cpu_s": cpu,
                "worker_cpu_s_per_1000_events": cpu / (n / 1000)}
    finally:
        if consumer is not None:
            consumer.close()
        rig.close()


def wait_committed(settings: Settings, group: str, spec: TopicSpec, n: int,
                   deadline: float) -> None:
    """Until `group` has committed offsets past `n` messages on `spec`'s partitions."""
    topic = settings.topic(spec.name)
    partitions = [TopicPartition(topic, p) for p in range(spec.partitions_for(settings))]
    reader = Consumer(confluent_config(settings) | {"group.id": group})
    try:
        while True:
            done = sum(max(0, tp.offset) for tp in reader.committed(partitions, timeout=10))
            if done >= n:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group}: offsets committed for {done} of {n} messages")
            time.sleep(0.02)
    finally:
        reader.close()


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


def replays(base: Settings, runs: Iterable[tuple[str, float, float]], jobs: int = 2) -> dict:
    """`sankalp backtest --jobs 2` on simulated streams: wall time of each whole run (the
    simulator generating the stream included), by label."""
    from bench.backtest import Source, run_sharded

    out: dict = {"jobs": jobs}
    for label, days, rate in runs:
        say(f"replay {label}: {days:g} simulated days at {rate:g} complaints/day ...")
        started = time.perf_counter()
        summary = run_sharded(base, Source(days=days, rate=rate), jobs)
        elapsed = time.perf_counter() - started
        out[f"{label}_s"] = elapsed
        out[f"{label}_complaints"] = summary.complaints
        out[f"{label}_inputs_per_s"] = summary.inputs / elapsed
    return out


def http_intake(base: Settings, work: Path, rates: tuple[float, ...],
                seconds: float) -> dict:
    """`sankalp api` (one process) taking Open311 POSTs from a real HTTP load generator
    (wrk, bench/http_intake.py) at fixed offered rates, then as fast as it is offered;
    every answer must be a 201 once Kafka acknowledged."""
    import socket

    from bench.http_intake import measure_http_intake
    from devstack.api_runner import ApiProcess

    rig = Rig(base, work)
    key = f"bench-{uuid.uuid4().hex}"
    keys = work / f"{rig.schema}-channel.keys"
    keys.write_text(f"bench portal {key} 1000000\n")  # a rate no offered load reaches
    keys.chmod(0o600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = ApiProcess(rig.settings.with_overrides(api_port=port, api_keys_file=keys),
                     work / f"{rig.schema}-api.log")
    try:
        api.start()
        api.wait_ready(60, kafka_and_postgres=True)
        result = measure_http_intake(api.url, key, rates=rates, duration_seconds=seconds)
        stages = result["stages"]
        by_rate = {s["offered_per_second"]: s for s in stages}
        most = max(s["requests_per_second"] for s in stages)
        return {"generator": result["generator"], "stages": stages,
                "max_requests_per_s": most,
                "p99_ms_at_500": (by_rate.get(500) or by_rate.get(500.0) or {}).get("p99_ms"),
                "not_201": sum(s["not_201"] + s["socket_errors"] for s in stages)}
    finally:
        api.stop()
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
