"""Drive a real worker on the real broker: submit commands, watch what comes out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from kit.processes import FaultyWorker
from kit.reader import OutputReader

from devstack.runners import WorkerProcess
from schemas.deadletter import DeadLetter
from schemas.events import (
    CitizenFeedback,
    ComplaintSubmitted,
    Event,
    OfficerActed,
    VerificationResult,
)
from schemas.state import ComplaintStateSnapshot
from streams.admin import ensure_topics
from streams.producer import EventPublisher
from streams.settings import Settings
from streams.topics import ALL_TOPICS, COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED


class Pipeline:
    def __init__(self, settings: Settings, worker: WorkerProcess | None = None) -> None:
        self.settings = settings
        self.worker = worker
        self.publisher = EventPublisher(settings)
        self.outputs = OutputReader(settings, group="harness")
        self.latest: datetime | None = None

    def close(self) -> None:
        self.outputs.close()

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
        self.outputs.poll(seconds)

    @property
    def events(self) -> list[Event]:
        """Every event read, in order, repeats included."""
        return self.outputs.events

    @property
    def states(self) -> dict[str, ComplaintStateSnapshot]:
        """The newest snapshot of each complaint."""
        return {cid: ComplaintStateSnapshot.from_dict(data)
                for cid, data in self.outputs.states.items()}

    @property
    def dead_letters(self) -> list[DeadLetter]:
        """One per message refused (a letter written twice is one)."""
        return list(self.outputs.dead_letters.values())

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
        return self.outputs.snapshot(complaint_id)


@contextmanager
def running_worker(settings: Settings,
                   failpoints: str = "") -> Iterator[tuple[WorkerProcess, Pipeline]]:
    """The topics, one worker (ready; with `failpoints` armed, see tests/kit/failpoints.py)
    and a pipeline to drive it; all stopped at the end."""
    ensure_topics(settings, ALL_TOPICS)
    log_file = settings.stack_dir / "worker.log"
    worker = (FaultyWorker(settings, log_file, failpoints) if failpoints
              else WorkerProcess(settings, log_file)).start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
        yield worker, harness
    finally:
        harness.close()
        worker.stop()
