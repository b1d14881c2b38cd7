"""The one reader of what the pipeline writes: its events, its state snapshots and its dead
letters, read from the start of their topics by a consumer of its own.

Used by the integration harness (tests/integration/harness.py: a few complaints, decoded
events) and by the fault lab (tests/integration/faultlab.py: thousands, raw payloads and
message counts, to compare runs).
"""

from __future__ import annotations

import json
import time
from typing import Any

from kit import kafka
from schemas.deadletter import DeadLetter
from schemas.events import Event, decode
from schemas.state import ComplaintStateSnapshot
from streams.settings import Settings
from streams.topics import COMPLAINT_EVENTS, COMPLAINT_STATE, DEAD_LETTERS

# (source topic, partition, offset): where a dead letter's message was read
Position = tuple[str, int, int]


class OutputReader:
    """Everything read so far from the pipeline's output topics.

    - `events`: every event message decoded, in the order read, repeats included (only with
      `decode_events`; the fault lab, reading tens of thousands, keeps payloads alone);
      `event_payloads`: the payload of each event_id; `event_messages`: messages read.
    - `states`: the newest snapshot payload of each complaint (a higher or equal version
      replaces the one kept); `snapshot()` gives it decoded.
    - `dead_letters`: by the position of the message they stand for (a letter written
      twice is one); `dead_letter_messages`: messages read.
    """

    def __init__(self, settings: Settings, *, decode_events: bool = True,
                 group: str = "outputs", **consumer_config: Any) -> None:
        self.settings = settings
        self.decode_events = decode_events
        self.events: list[Event] = []
        self.event_payloads: dict[str, dict] = {}
        self.event_messages = 0
        self.states: dict[str, dict] = {}
        self.dead_letters: dict[Position, DeadLetter] = {}
        self.dead_letter_messages = 0
        self._kinds = {
            settings.topic(COMPLAINT_EVENTS.name): self._event,
            settings.topic(COMPLAINT_STATE.name): self._state,
            settings.topic(DEAD_LETTERS.name): self._dead_letter,
        }
        self.consumer = kafka.consumer(settings, topics=self._kinds, group=group,
                                       **consumer_config)

    def poll(self, seconds: float) -> None:
        """Read whatever arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self.consumer.consume(1000, 0.1):
                if not message.error():
                    self._kinds[message.topic()](message.value())

    def _event(self, raw: bytes) -> None:
        self.event_messages += 1
        data = json.loads(raw)
        self.event_payloads[data["event_id"]] = data
        if self.decode_events:
            self.events.append(decode(raw))

    def _state(self, raw: bytes) -> None:
        data = json.loads(raw)
        known = self.states.get(data["complaint_id"])
        if known is None or known["version"] <= data["version"]:
            self.states[data["complaint_id"]] = data

    def _dead_letter(self, raw: bytes) -> None:
        self.dead_letter_messages += 1
        letter = DeadLetter.from_dict(json.loads(raw))
        self.dead_letters[(letter.source_topic, letter.source_partition,
                           letter.source_offset)] = letter

    def snapshot(self, complaint_id: str) -> ComplaintStateSnapshot | None:
        data = self.states.get(complaint_id)
        return None if data is None else ComplaintStateSnapshot.from_dict(data)

    def close(self) -> None:
        self.consumer.close()
