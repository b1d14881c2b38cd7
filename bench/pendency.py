"""A large pendency held honestly: N open complaints in one worker's tables, and its cost.

Registering a million complaints through the pipeline would take most of an hour on the
2-core machine, so the tables' changelog topics are written directly, as a long run leaves
them once compacted (one record per key, the latest):

- `table_image` replays the submissions through `Backtest` (bench/backtest.py: the
  workers' own core functions, calendar, directory and policy; held to the pipeline by
  the parity test) up to `until`, and encodes what a worker keeps: per complaint, its
  state, next wake-up and the outbox entry of its last decision (agents/stored.py; offset
  -1, as no redelivery can match it), per caller pseudonym, its intake history
  (`stored.encode_caller`).
- `write_changelogs` produces those records to `<app id>-complaints-changelog` and
  `<app id>-callers-changelog`, on the partition the worker itself would have written
  (the murmur2 partition of the input's key), with the table's key codec (JSON strings).

tests/integration/test_pendency.py runs a small stream through a real worker and requires
its changelogs to hold exactly what `table_image` writes.

`measure_pendency` (a `sankalp bench` stage) then starts a worker with an empty local
store on those changelogs: recovery time, memory per open complaint (RSS over the same
worker with empty tables), and escalation delay after due while event time runs on at a
steady pace (due times spread as registrations were), then for a burst of complaints all
falling due in the same minute.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agents import stored
from bench.backtest import Backtest
from core.lifecycle import next_wakeup
from core.reference import category
from schemas.events import ComplaintSubmitted, Event
from streams.settings import Settings
from streams.topics import partition_for_key

TABLES = ("complaints", "callers")
BURST_CATEGORY = "drinking_water_supply"


def changelog_topic(settings: Settings, table: str) -> str:
    """Faust's name for a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


class _Recorder(Backtest):
    """A Backtest that also keeps, per complaint, the events of its last decision (what
    the worker's outbox holds) and every caller's latest history (the worker keeps them
    all; the backtest forgets old ones to save memory)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last: dict[str, list[str]] = {}
        self.all_callers: dict[str, Any] = {}
        self._deciding: str | None = None

    def _submission(self, submitted: ComplaintSubmitted) -> None:
        super()._submission(submitted)
        from core.intake import citizen_ref

        ref = citizen_ref(submitted.citizen_phone, self.citizen_ref_key)
        if ref in self.callers:
            self.all_callers[ref] = self.callers[ref]

    def _decide(self, cid: str, command: Event, topic: str) -> None:
        self._deciding = cid
        try:
            super()._decide(cid, command, topic)
        finally:
            self._deciding = None

    def _emit(self, events: Iterable[Event]) -> None:
        events = tuple(events)
        if self._deciding is not None and events:
            self.last[self._deciding] = [e.to_json().decode() for e in events]
        super()._emit(events)


@dataclass
class TableImage:
    """Changelog records per table: key bytes (as the table encodes them) -> value bytes,
    and the partition of each."""

    records: dict[str, dict[bytes, tuple[int, bytes]]]
    open_complaints: int
    scheduled: int  # complaints with a next wake-up
    seconds: float


def table_image(settings: Settings, submissions: list[ComplaintSubmitted],
                until: datetime) -> TableImage:
    started = time.monotonic()
    recorder = _Recorder.from_settings(settings, keep_events=False, fold_reminders=False)
    recorder.run(submissions, until=until)
    partitions = settings.topic_partitions
    policy = recorder.context.policy
    complaints: dict[bytes, tuple[int, bytes]] = {}
    open_count = scheduled = 0
    for cid, state in recorder.states.items():
        outbox = [{"offset": -1, "changed": True, "events": recorder.last.get(cid, [])}]
        wake = next_wakeup(state, policy)
        open_count += state.status != "closed"
        scheduled += wake is not None
        complaints[json.dumps(cid).encode()] = (
            partition_for_key(cid.encode(), partitions), stored.encode(state, outbox, wake))
    callers = {
        json.dumps(ref).encode(): (partition_for_key(ref.encode(), partitions),
                                   stored.encode_caller(history))
        for ref, history in recorder.all_callers.items()}
    return TableImage({"complaints": complaints, "callers": callers}, open_count, scheduled,
                      time.monotonic() - started)


def write_changelogs(settings: Settings, image: TableImage) -> dict:
    """Create the changelog topics as Faust would (compacted, the tables' partitions) and
    produce every record; returns counts and bytes."""
    from confluent_kafka.admin import NewTopic

    from streams.admin import admin_client
    from streams.producer import make_producer

    admin = admin_client(settings)
    topics = [NewTopic(changelog_topic(settings, t), settings.topic_partitions,
                       settings.topic_replication_factor,
                       config={"cleanup.policy": "compact"}) for t in TABLES]
    for future in admin.create_topics(topics).values():
        try:
            future.result(30)
        except Exception as exc:  # already there (a second write): fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    producer = make_producer(settings)
    started = time.monotonic()
    count = size = 0
    for table, records in image.records.items():
        topic = changelog_topic(settings, table)
        for key, (partition, value) in records.items():
            while True:
                try:
                    producer.produce(topic, key=key, value=value, partition=partition)
                    break
                except BufferError:
                    producer.poll(0.05)
            count += 1
            size += len(key) + len(value)
    left = producer.flush(300)
    if left:
        raise RuntimeError(f"{left} changelog record(s) not delivered")
    return {"records": count, "bytes": size, "seconds": time.monotonic() - started}


def pendency_submissions(n: int, end: datetime, spread: timedelta, *, burst: int = 0,
                         burst_at: datetime | None = None, seed: int = 1100
                         ) -> list[ComplaintSubmitted]:
    """`n` submissions registered evenly over `spread` before `end` (their due times
    spread the same way), the last `burst` of them all at `burst_at` (one category, so
    they fall due in the same minute). Time order. Categories, places, channels and texts
    follow the simulator's statewide mix (a sample of it, repeated); every submission has
    its own caller, so all are registered (a pendency, not a test of intake's limits)."""
    import uuid

    from bench.measure import submissions

    sample = submissions(min(n, 20_000), seed=seed)
    regular = n - burst
    out = []
    for i in range(n):
        template = sample[i % len(sample)]
        if i < regular:
            at, changes = end - spread + spread * (i / max(1, regular)), {}
        else:
            assert burst_at is not None
            at, changes = burst_at, {"category": BURST_CATEGORY}
        out.append(replace(template, event_id=str(uuid.UUID(int=seed << 64 | i)),
                           complaint_id=f"PD-{seed}-{i:07d}", citizen_phone=f"9{i:09d}",
                           occurred_at=at, **changes))
    return sorted(out, key=lambda s: s.occurred_at)


def burst_registration(settings: Settings, due: datetime) -> datetime:
    """A registration moment whose time limit (BURST_CATEGORY) ends within a minute
    after `due` (binary search: add_working_days is monotone)."""
    calendar = settings.calendar()
    sla = category(BURST_CATEGORY).sla_working_days
    low, high = due - timedelta(days=3 * sla), due
    for _ in range(60):
        mid = low + (high - low) / 2
        if calendar.add_working_days(mid, sla) < due:
            low = mid
        else:
            high = mid
    when = calendar.add_working_days(high, sla)
    if not due <= when <= due + timedelta(minutes=1):
        raise RuntimeError(f"no registration moment gives a time limit ending at {due}")
    return high


def measure_pendency(base: Settings, work: Path, n: int, *, burst: int = 10_000,
                     pace: float = 20.0, window_s: float = 60.0) -> dict:
    """See the module's docstring. `pace`: simulated seconds per wall second while the
    steady escalations are measured for `window_s` wall seconds."""
    from confluent_kafka import Consumer

    from bench.measure import Rig, say
    from devstack.runners import WorkerProcess
    from streams.security import confluent_config

    burst = min(burst, n // 10)
    rig = Rig(base, work, clock="event", postgres=False, tick_interval_seconds=0.2)
    try:
        # the same worker with empty tables: the memory baseline
        rig.start(sink=False)
        time.sleep(3)
        rss_empty = rig.rss_kib()
        rig.worker.stop()

        end = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
        steady = timedelta(seconds=pace * window_s)
        burst_due = end + steady + timedelta(minutes=2)
        burst_at = burst_registration(rig.settings, burst_due) if burst else None
        say(f"pendency: replaying {n:,} submissions through the core ...")
        subs = pendency_submissions(n, end, timedelta(days=10), burst=burst,
                                    burst_at=burst_at)
        image = table_image(rig.settings, subs, until=end)
        del subs
        say(f"pendency: {image.open_complaints:,} open complaints in "
            f"{image.seconds:.0f}s; writing the changelogs ...")
        written = write_changelogs(rig.settings, image)
        open_complaints, image_seconds = image.open_complaints, image.seconds
        scheduled = image.scheduled
        del image

        # a worker whose local store is gone: it rebuilds from the changelogs
        shutil.rmtree(rig.settings.worker_data_dir, ignore_errors=True)
        say("pendency: starting a worker with no local store (recovery) ...")
        started = time.monotonic()
        rig.worker = WorkerProcess(rig.settings, rig.worker.log_file).start()
        rig.worker.wait_ready(1800)
        recovery = time.monotonic() - started
        indexed = wait_for_index(rig.worker, scheduled, timeout=900)
        index_s = time.monotonic() - started
        rss_open = rig.rss_kib()

        consumer = Consumer(confluent_config(rig.settings)
                            | {"group.id": f"{rig.schema}-pendency",
                               "auto.offset.reset": "latest"})
        consumer.subscribe([rig.settings.topic("complaints.events.v1")])
        wait_assigned(consumer)
        say(f"pendency: steady escalations for {window_s:g}s at {pace:g}x event time ...")
        marks: list[tuple[datetime, float]] = []
        steady_delays = run_clock(rig, consumer, end, end + steady, pace, marks)
        say(f"pendency: a burst of {burst:,} due in the same minute ...")
        burst_delays: list[float] = []
        burst_s = None
        if burst:
            burst_start = time.monotonic()
            burst_delays = run_clock(rig, consumer, end + steady, burst_due + timedelta(
                minutes=1), None, marks, expect=burst, timeout=600)
            burst_s = time.monotonic() - burst_start
        consumer.close()
        from bench.measure import percentile

        def stats(delays: list[float]) -> dict:
            return {"escalations": len(delays),
                    "delay_p50_s": percentile(delays, 0.5) if delays else None,
                    "delay_p99_s": percentile(delays, 0.99) if delays else None,
                    "delay_max_s": max(delays) if delays else None}

        return {
            "open_complaints": open_complaints,
            "changelog_records": written["records"],
            "changelog_mib": written["bytes"] / 2**20,
            "image_seconds": image_seconds,
            "changelog_write_seconds": written["seconds"],
            "recovery_seconds": recovery,
            "index_rebuilt_seconds": index_s,
            "indexed": indexed,
            "rss_kib_empty": rss_empty,
            "rss_kib_open": rss_open,
            "bytes_per_open_complaint": 1024 * (rss_open - rss_empty) / open_complaints,
            "pace": pace,
            "steady": stats(steady_delays),
            "burst": {**stats(burst_delays), "size": burst, "seconds": burst_s},
            "delay_p99_s": stats(steady_delays)["delay_p99_s"],
        }
    finally:
        rig.close()


def wait_for_index(worker: Any, scheduled: int, timeout: float) -> int:
    """The worker logs the size of its time index each time it rebuilds it (after every
    rebalance, from its recovered table): wait for one holding every scheduled complaint."""
    import re

    deadline = time.monotonic() + timeout
    found: list[str] = []
    while time.monotonic() < deadline:
        worker.check_healthy()
        found = re.findall(r"time index rebuilt: (\d+)", worker._log_since_start())
        if found and int(found[-1]) >= scheduled:
            return int(found[-1])
        time.sleep(0.2)
    raise TimeoutError(f"the time index held {found[-1] if found else 'nothing'} of "
                       f"{scheduled} after {timeout:.0f}s")


def wait_assigned(consumer: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(0.2)
    if not consumer.assignment():
        raise TimeoutError("the events consumer got no partitions")


def run_clock(rig: Any, consumer: Any, start: datetime, stop: datetime,
              pace: float | None, marks: list[tuple[datetime, float]], *,
              expect: int | None = None, timeout: float = 120) -> list[float]:
    """Move event time from `start` to `stop` (at `pace` simulated seconds per wall second,
    a watermark every 0.5 s; or in one step when pace is None) and collect, for every
    escalation for a missed deadline seen meanwhile, how long after the watermark that
    passed its due moment it arrived. With `expect`, wait until that many arrived."""
    from confluent_kafka import TIMESTAMP_CREATE_TIME

    delays: list[float] = []
    begun = time.monotonic()
    at = start

    def collect(wait: float) -> None:
        for message in consumer.consume(500, wait):
            if message.error():
                continue
            kind, stamp = message.timestamp()
            # when the worker published it (its producer's create time), not when this
            # loop got round to it
            arrived = stamp / 1000 if kind == TIMESTAMP_CREATE_TIME else time.time()
            event = json.loads(message.value())
            if (event.get("event_type") != "complaint.escalated"
                    or event.get("cause") != "deadline_missed"):
                continue
            due = datetime.fromisoformat(event["previous_due_at"].replace("Z", "+00:00"))
            passed = next((wall for moment, wall in marks if moment >= due), None)
            if passed is not None and due >= start:
                delays.append(max(0.0, arrived - passed))

    while at < stop:
        at = stop if pace is None else min(stop, start + timedelta(
            seconds=pace * (time.monotonic() - begun)))
        marks.append((at, time.time()))
        rig.publisher.watermark(at)
        collect(0.5)
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        seen = len(delays)
        collect(0.5)
        if expect is not None and len(delays) >= expect:
            break
        if len(delays) != seen:
            quiet_since = time.monotonic()
        elif expect is None and time.monotonic() - quiet_since > 5:
            break
    return delays
