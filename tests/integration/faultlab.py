"""A scenario of thousands of complaints run on the real services, with or without faults,
and everything it leaves behind, so that runs can be compared.

The scenario is the simulator's traffic (officers on time, late or never; satisfied,
not satisfied and unreachable citizens; CM and minister verification calls) plus callers
who complain twice. It is published so that the outcome depends only on the input, never
on timing, in event time:

1. every submission, then (once intake has decided them all) the repeat callers', so each
   caller's submissions reach intake in order whatever the partitions;
2. the commands in time order, with a watermark (a clock tick on every partition) after
   each slice, published only once the slice is on the broker: no command can land behind
   a deadline it preceded, and deadlines fire at their own moment (core/lifecycle.py).

A fault plan is called at each step of the publishing (and while the run settles) and may
kill or start processes; the outcome must not change.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import signal
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
from confluent_kafka import KafkaException, TopicPartition
from kit.processes import FaultySink
from kit.reader import OutputReader

from devstack.runners import SinkProcess, WorkerProcess
from schemas.deadletter import DeadLetter
from schemas.events import ComplaintSubmitted, Event
from simulator.traffic import Traffic, TrafficProfile
from sinks.lag import GroupLag
from sinks.migrate import migrate
from streams.admin import ensure_topics
from streams.producer import EventPublisher
from streams.settings import Settings
from streams.topics import (
    ALL_TOPICS,
    CITIZEN_CONTACTS,
    COMPLAINT_COMMANDS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
    COMPLAINTS_SUBMITTED,
    DEAD_LETTERS,
    WORKER_INPUTS,
)

FIRST_NAMES = ("Ramesh", "Sunita", "Kamla", "Vikram", "Anjali", "Hem", "Pushpa", "Devinder",
               "Meena", "Rajinder", "Savitri", "Tenzin", "Kavita", "Balwant", "Nirmla")
LAST_NAMES = ("Thakur", "Sharma", "Negi", "Chauhan", "Rana", "Verma", "Kapoor", "Bhardwaj",
              "Guleria", "Kashyap", "Dogra", "Katoch", "Pathania", "Bodh", "Jaswal")
PG_TABLES = {
    "complaint_current": "complaint_id",
    "complaint_event": "event_id",
    "escalation": "event_id",
    "lapse": "lapse_id",
    "citizen_contact": "complaint_id",
}
SINK_TOPICS = (COMPLAINT_EVENTS, COMPLAINT_STATE, CITIZEN_CONTACTS, DEAD_LETTERS)
WORKER_TOPICS = WORKER_INPUTS


# --- the scenario -------------------------------------------------------------------------


@dataclass
class Scenario:
    originals: list[ComplaintSubmitted]
    repeats: list[ComplaintSubmitted]
    slices: list[tuple[datetime, list[Event]]]  # (watermark after it, its commands)
    start: datetime
    end: datetime

    @property
    def complaints(self) -> int:
        return len(self.originals) + len(self.repeats)

    @property
    def commands(self) -> int:
        return sum(len(cmds) for _, cmds in self.slices)

    def personal_data(self) -> tuple[set[str], set[str]]:
        subs = [*self.originals, *self.repeats]
        return {s.citizen_phone for s in subs}, {s.citizen_name for s in subs}


def build_scenario(complaints: int, *, seed: int = 1100, days: float = 20.0,
                   slice_hours: float = 6.0, repeat_share: float = 0.03) -> Scenario:
    profile = TrafficProfile(seed=seed, complaints_per_day=complaints / days, days=days,
                             verification_share=0.3, jan_manch_size=20)
    rng = random.Random(seed)
    traffic = list(Traffic(profile))
    originals = [dataclasses.replace(
        s, citizen_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {i:05d}")
        for i, s in enumerate(e for e in traffic if isinstance(e, ComplaintSubmitted))]
    end = profile.start + timedelta(days=days)
    repeats = []
    for original in rng.sample(originals, k=int(len(originals) * repeat_share)):
        at = original.occurred_at + timedelta(hours=rng.uniform(2, 72))
        if at < end:
            repeats.append(dataclasses.replace(
                original, event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                complaint_id=f"{original.complaint_id}-R", occurred_at=at,
                text="फिर से शिकायत: " + original.text))
    commands = [e for e in traffic if not isinstance(e, ComplaintSubmitted)]
    step = timedelta(hours=slice_hours)
    slices: list[tuple[datetime, list[Event]]] = []
    mark, i = profile.start, 0
    while mark < end:
        mark = min(mark + step, end)
        batch = []
        while i < len(commands) and commands[i].occurred_at <= mark:
            batch.append(commands[i])
            i += 1
        slices.append((mark, batch))
    return Scenario(originals, repeats, slices, profile.start, end)


# --- what a run leaves behind -------------------------------------------------------------


@dataclass
class Outcome:
    states: dict[str, dict]          # complaint_id -> latest complaint.state payload
    events: dict[str, dict]          # event_id -> complaints.events.v1 payload
    event_messages: int              # messages read (repeats of an event_id included)
    dead_letters: dict[tuple, DeadLetter]  # (topic, partition, offset) -> letter
    dead_letter_messages: int
    tables: dict[str, dict[str, tuple]]  # table -> key -> row
    logs: str
    faults: list[str] = field(default_factory=list)
    metrics: str = ""
    seconds: float = 0.0

    @property
    def redeliveries(self) -> int:
        return (self.event_messages - len(self.events)
                + self.dead_letter_messages - len(self.dead_letters))

    def dead_letter_reasons(self) -> Counter:
        return Counter((d.source_topic.rsplit(".", 2)[-2] if "." in d.source_topic else "",
                        _original_id(d), d.reason) for d in self.dead_letters.values())


def _original_id(letter: DeadLetter) -> str:
    try:
        return str(json.loads(letter.original()).get("event_id"))
    except (ValueError, AttributeError):
        return f"raw:{hash(letter.original())}"


def compare(baseline: Outcome, other: Outcome, *, complaints: Iterable[str] | None = None,
            ignore_rejections: bool = False) -> None:
    """Raise with the first differences unless `other` left exactly what `baseline` did
    (for the complaints named, or all)."""
    keep = set(complaints) if complaints is not None else None

    def mine(cid: str) -> bool:
        return keep is None or cid in keep

    problems: list[str] = []
    base_states = {c: s for c, s in baseline.states.items() if mine(c)}
    states = {c: s for c, s in other.states.items() if mine(c)}
    _diff("complaint states", base_states, states, problems)

    def events(o: Outcome) -> dict[str, dict]:
        return {i: e for i, e in o.events.items() if mine(e["complaint_id"])
                and not (ignore_rejections and e["event_type"] == "command.rejected")}

    _diff("events (by event_id)", events(baseline), events(other), problems)
    for table, key in PG_TABLES.items():
        def rows(o: Outcome, table=table) -> dict[str, tuple]:
            return {k: r for k, r in o.tables[table].items() if mine(r[0])
                    and not (ignore_rejections and "command.rejected" in r)}
        _diff(f"Postgres {table} (by {key})", rows(baseline), rows(other), problems)
    if keep is None and baseline.dead_letter_reasons() != other.dead_letter_reasons():
        extra = other.dead_letter_reasons() - baseline.dead_letter_reasons()
        missing = baseline.dead_letter_reasons() - other.dead_letter_reasons()
        problems.append(f"dead letters differ: extra {list(extra.items())[:3]}, "
                        f"missing {list(missing.items())[:3]}")
    assert not problems, "\n".join(problems)


def _diff(what: str, expected: dict, actual: dict, problems: list[str]) -> None:
    lost = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    if lost or extra or changed:
        sample = changed[0] if changed else None
        detail = (f"; e.g. {sample}: expected {expected[sample]} got {actual[sample]}"
                  if sample else "")
        problems.append(f"{what}: {len(lost)} lost {lost[:3]}, {len(extra)} extra "
                        f"{extra[:3]}, {len(changed)} changed{detail}")


# --- running it ---------------------------------------------------------------------------

Plan = Callable[["LabRun", str], None]


def no_faults(run: LabRun, step: str) -> None:
    """The baseline."""


class LabRun:
    """One run of a scenario: its own topics, consumer group, Postgres schema, workers and
    sink, all real processes."""

    def __init__(self, settings: Settings, workdir: Path, *, progress: bool = True) -> None:
        self.settings = settings
        self.workdir = workdir
        self.progress = progress
        self.workers: list[WorkerProcess] = []
        self.sink: SinkProcess | None = None
        self.sink_failpoints: list[str] = []  # a spec for each sink started, in turn
        self.faults: list[str] = []
        self.rng = random.Random(7)
        self.publisher = EventPublisher(settings)
        # a plain consumer, not the Admin API: librdkafka's admin requests can abort the
        # process while a broker is killed (see sinks/lag.py)
        self._lag = GroupLag({"bootstrap.servers": settings.kafka_bootstrap_servers,
                              "log_level": 0}, settings.app_id, retry_after=1.0)
        self.outputs: OutputReader | None = None

    def say(self, message: str) -> None:
        if self.progress:
            print(f"  [{self.settings.app_id}] {message}", flush=True)

    # --- processes ----------------------------------------------------------------------
    def worker_settings(self, index: int) -> Settings:
        return self.settings.with_overrides(worker_data_dir=self.workdir / f"worker-{index}")

    def start_worker(self, index: int | None = None, wait: bool = True) -> WorkerProcess:
        index = len(self.workers) if index is None else index
        worker = WorkerProcess(self.worker_settings(index),
                               self.workdir / f"worker-{index}.log")
        if index < len(self.workers):
            self.workers[index] = worker
        else:
            self.workers.append(worker)
        worker.start()
        if wait:
            worker.wait_ready(120)
        return worker

    def kill_worker(self, index: int = 0, *, wipe_store: bool = False) -> None:
        self.workers[index].kill()
        self.faults.append(f"worker {index} SIGKILL" + (" + local store deleted"
                                                        if wipe_store else ""))
        self.say(self.faults[-1])
        if wipe_store:
            import shutil

            shutil.rmtree(self.workdir / f"worker-{index}", ignore_errors=True)

    def start_sink(self) -> None:
        log_file = self.workdir / "sink.log"
        if self.sink_failpoints:
            self.sink = FaultySink(self.settings, log_file, self.sink_failpoints.pop(0))
        else:
            self.sink = SinkProcess(self.settings, log_file)
        self.sink.start()

    def _sink_watchdog(self) -> None:
        """A sink that died (a failpoint kills it) is started again, as an orchestrator
        would; anything else that kills it is a failure."""
        assert self.sink is not None
        code = self.sink._proc.poll() if self.sink._proc else None
        if code is None:
            return
        if code == -signal.SIGKILL and "failpoint" in self.sink.tail(5):
            self.faults.append("sink SIGKILL between writing rows and committing offsets")
            self.say(self.faults[-1])
            self.start_sink()
            return
        raise RuntimeError(f"the sink exited with {code}:\n{self.sink.tail()}")

    def check(self) -> None:
        for worker in self.workers:
            if worker._proc is not None and worker._proc.poll() is None:
                worker.check_healthy()
        if self.sink is not None:
            self._sink_watchdog()

    # --- reading the outputs ------------------------------------------------------------
    def _poll(self, seconds: float) -> None:
        assert self.outputs is not None
        self.outputs.poll(seconds)

    @property
    def states(self) -> dict[str, dict]:
        """complaint_id -> the newest complaint.state payload read so far."""
        return self.outputs.states if self.outputs is not None else {}

    def wait_accounted(self, complaint_ids: Iterable[str], timeout: float = 600,
                       plan: Plan = no_faults) -> None:
        """Until intake has decided every one: registered, linked or dead-lettered."""
        waiting = set(complaint_ids)
        linked: set[str] = set()
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            plan(self, "waiting")
            self.check()
            self._poll(0.3)
            outputs = self.outputs
            linked = {e["complaint_id"] for e in outputs.event_payloads.values()
                      if e["event_type"] == "complaint.duplicate_linked"}
            dead_lettered = {d.key for d in outputs.dead_letters.values() if d.key}
            waiting -= set(outputs.states) | linked | dead_lettered
        if waiting:
            raise AssertionError(f"{len(waiting)} submission(s) never decided, e.g. "
                                 f"{sorted(waiting)[:3]}; worker log:\n"
                                 f"{self.workers[-1].tail() if self.workers else ''}")

    # --- the run ------------------------------------------------------------------------
    def prepare(self) -> None:
        ensure_topics(self.settings, ALL_TOPICS)
        conn = psycopg2.connect(self.settings.database_url)
        try:
            migrate(conn)
        finally:
            conn.close()
        # payloads only (no decoded events): a run reads tens of thousands
        self.outputs = OutputReader(self.settings, decode_events=False, group="lab",
                                    log_level=3)  # a broker killed on purpose is not news

    def run(self, scenario: Scenario, plan: Plan = no_faults,
            inject: Callable[[LabRun, str, int], None] | None = None) -> Outcome:
        started = time.monotonic()
        self.prepare()
        self.start_worker(0)
        self.start_sink()
        plan(self, "started")
        self.say(f"submitting {len(scenario.originals)} complaints")
        for n, submitted in enumerate(scenario.originals):
            self.publisher.send(COMPLAINTS_SUBMITTED.name, submitted.complaint_id, submitted)
            if n % 200 == 199:
                plan(self, "submitting")
                if inject:
                    inject(self, "submitting", n)
        self.publisher.flush(120)
        self.wait_accounted([s.complaint_id for s in scenario.originals], plan=plan)
        if inject:
            inject(self, "registered", 0)
        for submitted in scenario.repeats:
            self.publisher.send(COMPLAINTS_SUBMITTED.name, submitted.complaint_id, submitted)
        self.publisher.flush(120)
        self.wait_accounted([s.complaint_id for s in scenario.repeats], plan=plan)
        self.say(f"{len(self.states)} registered; {scenario.commands} commands in "
                 f"{len(scenario.slices)} slices follow")
        for n, (mark, commands) in enumerate(scenario.slices):
            for command in commands:
                self.publisher.send(COMPLAINT_COMMANDS.name, command.complaint_id, command)
            if inject:
                inject(self, "slice", n)
            self.publisher.watermark(mark)
            plan(self, f"slice {n + 1}/{len(scenario.slices)}")
            self.check()
            self._poll(0.05)
        self.settle(plan)
        outcome = self.collect()
        outcome.seconds = time.monotonic() - started
        return outcome

    def settle(self, plan: Plan, timeout: float = 900) -> None:
        """Until the workers and the sink have read everything and nothing new appears."""
        worker_topics = [self.settings.topic(t.name) for t in WORKER_TOPICS]
        quiet_since: float | None = None
        last_ends: dict | None = None
        lag: dict[str, int] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            plan(self, "settling")
            self.check()
            self._poll(0.5)
            try:
                ends = self._end_offsets()
            except KafkaException as exc:
                # leadership still moving after a broker came back: look again
                print(f"  [{self.settings.app_id}] end offsets not read yet: {exc}", flush=True)
                quiet_since = None
                continue
            lag = self._lag.read(worker_topics)
            worker_done = bool(lag) and not any(lag.values())
            sink_done = self._sink_offsets() == {
                k: v for k, v in ends.items() if k[0] in self._sink_topic_names()}
            if worker_done and sink_done and ends == last_ends:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 3:
                    return
            else:
                quiet_since = None
            last_ends = ends
        raise AssertionError(f"the run did not settle: worker lag {lag}; worker log:\n"
                             f"{self.workers[-1].tail()}\nsink log:\n"
                             f"{self.sink.tail() if self.sink else ''}")

    def _sink_topic_names(self) -> set[str]:
        return {self.settings.topic(t.name) for t in SINK_TOPICS}

    def _end_offsets(self) -> dict[tuple[str, int], int]:
        assert self.outputs is not None
        consumer = self.outputs.consumer
        ends = {}
        metadata = consumer.list_topics(timeout=10)
        for spec in (*WORKER_TOPICS, *SINK_TOPICS):
            name = self.settings.topic(spec.name)
            for p in metadata.topics[name].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(name, p),
                                                         timeout=10)
                ends[(name, p)] = high
        return {k: v for k, v in ends.items() if v > 0}

    def _sink_offsets(self) -> dict[tuple[str, int], int]:
        try:
            conn = psycopg2.connect(self.settings.database_url, connect_timeout=3)
        except psycopg2.OperationalError:
            return {}
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT kafka_topic, kafka_partition, next_offset FROM sink_offset")
                return {(t, p): o for t, p, o in cur.fetchall() if o > 0}
        finally:
            conn.close()

    def collect(self) -> Outcome:
        self._poll(1.0)
        tables = {}
        conn = psycopg2.connect(self.settings.database_url)
        try:
            with conn.cursor() as cur:
                for table, key in PG_TABLES.items():
                    cur.execute(f"SELECT * FROM {table}")
                    names = [d.name for d in cur.description]
                    at = names.index(key)
                    first = names.index("complaint_id")
                    # where a row came from (topic, partition, offset) differs run to run
                    skip = {first} | {i for i, n in enumerate(names) if n.startswith("kafka_")}
                    tables[table] = {
                        str(row[at]): (row[first], *(v for i, v in enumerate(row)
                                                     if i not in skip))
                        for row in cur.fetchall()}
        finally:
            conn.close()
        logs = "\n".join(p.read_text(errors="replace") for p in self.workdir.glob("*.log"))
        metrics = ""
        for port in (self.settings.metrics_port, self.settings.sink_metrics_port):
            if port:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=10) as page:
                    metrics += page.read().decode()
        outputs = self.outputs
        assert outputs is not None
        return Outcome(states=dict(outputs.states), events=dict(outputs.event_payloads),
                       event_messages=outputs.event_messages,
                       dead_letters=dict(outputs.dead_letters),
                       dead_letter_messages=outputs.dead_letter_messages, tables=tables,
                       logs=logs, faults=list(self.faults), metrics=metrics)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.sink is not None:
            self.sink.stop()
        if self.outputs is not None:
            self.outputs.close()
        self._lag.close()


def public_leaks(outcome: Outcome, phones: set[str], names: set[str],
                 metrics_text: str = "") -> list[str]:
    """Where a citizen's phone number or name shows up outside the private topics."""
    public = json.dumps([outcome.events, outcome.states], ensure_ascii=False)
    metrics_text = metrics_text or outcome.metrics
    found = []
    # One pass over each text (not one per citizen): every 10-digit number, and every name
    # shaped like the scenario's ("First Last 00042"), compared with the sets.
    for where, text in (("public topics", public), ("logs", outcome.logs),
                        ("metrics", metrics_text)):
        if set(re.findall(r"(?<!\d)\d{10}(?!\d)", text)) & phones:
            found.append(f"phone in {where}")
        if set(re.findall(r"[A-Z][a-z]+ [A-Z][a-z]+ \d{5}", text)) & names:
            found.append(f"name in {where}")
    return found


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")
