"""Drive a real worker on the real broker: submit commands, watch what comes out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from confluent_kafka import Consumer

from schemas.deadletter import DeadLetter
from schemas.events import (
    CitizenFeedback,
    ComplaintSubmitted,
    Event,
    OfficerActed,
    VerificationResult,
    decode,
)
from schemas.state import ComplaintStateSnapshot
from streams.admin import ensure_topics
from streams.producer import EventPublisher
from streams.settings import Settings
from streams.topics import (
    ALL_TOPICS,
    COMPLAINT_COMMANDS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
    COMPLAINTS_SUBMITTED,
    DEAD_LETTERS,
)
from streams.worker_process import WorkerProcess


class Pipeline:
    def __init__(self, settings: Settings, worker: WorkerProcess | None = None) -> None:
        self.settings = settings
        self.worker = worker
        self.publisher = EventPublisher(settings)
        self.events: list[Event] = []
        self.states: dict[str, ComplaintStateSnapshot] = {}
        self.dead_letters: list[DeadLetter] = []
        self.latest: datetime | None = None
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"harness-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self._topics = {
            settings.topic(COMPLAINT_EVENTS.name): "events",
            settings.topic(COMPLAINT_STATE.name): "state",
            settings.topic(DEAD_LETTERS.name): "dead",
        }
        self._consumer.subscribe(list(self._topics))

    def close(self) -> None:
        self._consumer.close()

    # --- in ---------------------------------------------------------------------------
    def fresh_start(self, default: datetime) -> datetime:
        """A start time later than anything this worker's event-time clock has seen, so
        scenarios sharing one worker do not see each other's time."""
        if self.latest is None:
            return default
        return max(default, self.latest + timedelta(days=90))

    def _saw(self, moment: datetime) -> None:
        if self.latest is None or moment > self.latest:
            self.latest = moment

    def submit(self, complaint_id: str, at: datetime, *, category: str, district: str,
               block: str, phone: str | None = None, text: str = "पानी नहीं आ रहा",
               channel: str = "phone_1100") -> ComplaintSubmitted:
        # A fresh caller each time unless the test means the same one (duplicates, limits).
        phone = phone or f"98{uuid.uuid4().int % 10**8:08d}"
        self._saw(at)
        submitted = ComplaintSubmitted(
            event_id=str(uuid.uuid4()), complaint_id=complaint_id, occurred_at=at,
            channel=channel, category=category, district=district, block=block, text=text,
            citizen_phone=phone, citizen_name="परीक्षण नागरिक")
        self.publisher.send(COMPLAINTS_SUBMITTED.name, complaint_id, submitted)
        self.publisher.flush()
        return submitted

    def command(self, command: Event) -> None:
        self._saw(command.occurred_at)
        self.publisher.send(COMPLAINT_COMMANDS.name, command.complaint_id, command)
        self.publisher.flush()

    def act(self, complaint_id: str, at: datetime, officer_id: str, action: str, **extra):
        self.command(OfficerActed(event_id=str(uuid.uuid4()), complaint_id=complaint_id,
                                  occurred_at=at, officer_id=officer_id, action=action,
                                  **extra))

    def feedback(self, complaint_id: str, at: datetime, outcome: str) -> None:
        self.command(CitizenFeedback(event_id=str(uuid.uuid4()), complaint_id=complaint_id,
                                     occurred_at=at, outcome=outcome))

    def verify(self, complaint_id: str, at: datetime, outcome: str) -> None:
        self.command(VerificationResult(event_id=str(uuid.uuid4()), complaint_id=complaint_id,
                                        occurred_at=at, verifier="chief_minister",
                                        outcome=outcome))

    def advance_clock(self, to: datetime) -> None:
        """Event-time mode: a watermark (a clock tick on every partition) moves the
        workers' clock; the deadline timer then fires whatever fell due."""
        self._saw(to)
        self.publisher.watermark(to)

    def raw(self, topic_name: str, key: bytes | None, value: bytes) -> None:
        from streams.producer import make_producer

        producer = make_producer(self.settings)
        producer.produce(self.settings.topic(topic_name), key=key, value=value)
        assert producer.flush(30) == 0

    # --- out --------------------------------------------------------------------------
    def poll(self, seconds: float = 0.2) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.1)
            if message is None or message.error():
                continue
            kind = self._topics[message.topic()]
            if kind == "events":
                self.events.append(decode(message.value()))
            elif kind == "state":
                snap = ComplaintStateSnapshot.from_dict(json.loads(message.value()))
                known = self.states.get(snap.complaint_id)
                if known is None or known.version < snap.version:
                    self.states[snap.complaint_id] = snap
            else:
                self.dead_letters.append(DeadLetter.from_dict(json.loads(message.value())))

    def wait_for(self, what: str, check: Callable[[], object], timeout: float = 60) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker is not None:
                self.worker.check_healthy()
            self.poll()
            result = check()
            if result:
                return result
        tail = self.worker.tail() if self.worker else ""
        raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")

    def of(self, complaint_id: str, event_type: type[Event] | None = None) -> list[Event]:
        return [e for e in self.events if e.complaint_id == complaint_id
                and (event_type is None or isinstance(e, event_type))]

    def state(self, complaint_id: str) -> ComplaintStateSnapshot | None:
        return self.states.get(complaint_id)


@contextmanager
def running_worker(settings: Settings) -> Iterator[tuple[WorkerProcess, Pipeline]]:
    """The topics, one worker (ready) and a pipeline to drive it; all stopped at the end."""
    ensure_topics(settings, ALL_TOPICS)
    worker = WorkerProcess(settings, settings.stack_dir / "worker.log").start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
        yield worker, harness
    finally:
        harness.close()
        worker.stop()
