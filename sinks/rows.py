"""From Kafka records to table rows (pure: no Kafka client, no database).

A batch keeps, per table, one row per key: the newest version of a complaint's state, the
first copy of an event, the record of a lapse with the largest overdue figures. So a batch
that contains a redelivery writes the same rows.

What is a lapse is the core's decision (LapseRecorded, core/escalation.py); the sink only
stores what the event says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from schemas.contacts import CitizenContact
from schemas.deadletter import DeadLetter
from schemas.events import ComplaintEscalated, Event, LapseRecorded, decode
from schemas.records import InvalidEvent
from schemas.state import ComplaintStateSnapshot

STATE_COLUMNS = (
    "complaint_id", "version", "status", "channel", "category", "department", "district",
    "tehsil", "block", "level", "officer_id", "registered_at", "assigned_at", "due_at",
    "escalations", "transfers", "reopenings", "overdue_at_state", "closed_at", "close_reason",
    "updated_at",
)
EVENT_COLUMNS = ("event_id", "complaint_id", "event_type", "occurred_at", "payload",
                 "kafka_topic", "kafka_partition", "kafka_offset")
ESCALATION_COLUMNS = ("event_id", "complaint_id", "cause", "department", "district",
                      "from_level", "to_level", "from_officer", "to_officer",
                      "previous_due_at", "due_at", "occurred_at", "overdue_seconds")
# One row per lapse (lapse_id); event_id is the record whose figures the row holds.
LAPSE_COLUMNS = ("lapse_id", "event_id", "complaint_id", "officer_id", "level", "department",
                 "district", "assigned_at", "due_at", "lapsed_at", "overdue_seconds", "kind",
                 "limit_working_days", "held_working_days")
# What a later record of the same lapse (a state-level reminder) may change in its row.
LAPSE_FIGURES = ("event_id", "overdue_seconds", "held_working_days")
_LAPSE_OVERDUE = LAPSE_COLUMNS.index("overdue_seconds")
CONTACT_COLUMNS = ("complaint_id", "citizen_ref", "citizen_phone", "citizen_name")


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka message a batch needs."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass
class Batch:
    state: dict[str, tuple] = field(default_factory=dict)
    state_versions: dict[str, int] = field(default_factory=dict)
    events: dict[str, tuple] = field(default_factory=dict)
    escalations: dict[str, tuple] = field(default_factory=dict)
    lapses: dict[str, tuple] = field(default_factory=dict)
    contacts: dict[str, tuple] = field(default_factory=dict)
    # (topic, partition) -> next offset to read
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    decoded_events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(map(len, (self.state, self.events, self.escalations, self.lapses,
                             self.contacts)))

    def add(self, record: Record, kind: str) -> None:
        key = (record.topic, record.partition)
        self.offsets[key] = max(self.offsets.get(key, 0), record.offset + 1)
        if record.value is None:  # a tombstone: nothing to write
            return
        try:
            if kind == "state":
                self._add_state(record.value)
            elif kind == "events":
                self._add_event(record)
            elif kind == "contacts":
                self._add_contact(record.value)
            elif kind == "dead_letters":
                self.dead_letters.append(DeadLetter.from_dict(json.loads(record.value)))
        except (InvalidEvent, ValueError, KeyError) as exc:
            self.unreadable.append(f"{record.topic}[{record.partition}]@{record.offset}: {exc}")

    def _add_state(self, raw: bytes) -> None:
        snap = ComplaintStateSnapshot.from_dict(json.loads(raw))
        assert isinstance(snap, ComplaintStateSnapshot)
        if self.state_versions.get(snap.complaint_id, -1) >= snap.version:
            return
        self.state_versions[snap.complaint_id] = snap.version
        # updated_at is the snapshot's occurred_at
        self.state[snap.complaint_id] = (
            *(getattr(snap, c) for c in STATE_COLUMNS[:-1]), snap.occurred_at)

    def _add_event(self, record: Record) -> None:
        event = decode(record.value or b"")
        if event.event_id in self.events:
            return
        self.decoded_events.append(event)
        self.events[event.event_id] = (
            event.event_id, event.complaint_id, event.EVENT_TYPE, event.occurred_at,
            json.dumps(event.to_dict(), ensure_ascii=False), record.topic, record.partition,
            record.offset)
        if isinstance(event, ComplaintEscalated):
            self.escalations[event.event_id] = (
                event.event_id, event.complaint_id, event.cause, event.department,
                event.district, event.from_level, event.to_level, event.from_officer,
                event.to_officer, event.previous_due_at, event.due_at, event.occurred_at,
                event.overdue_seconds)
        elif isinstance(event, LapseRecorded):
            self._add_lapse(event)

    def _add_lapse(self, event: LapseRecorded) -> None:
        """Keep the record with the largest overdue_seconds per lapse, as the upsert in
        Postgres does (sinks/postgres_sink.py): one statement may not touch a row twice, and
        the row must not depend on how the records were split into batches."""
        kept = self.lapses.get(event.lapse_id)
        if kept is not None and kept[_LAPSE_OVERDUE] >= event.overdue_seconds:
            return
        row = {name: getattr(event, name) for name in LAPSE_COLUMNS if name != "lapsed_at"}
        # A time limit lapses at its due moment (the core fires it then, however late the
        # timer ran): the same lapsed_at on every record of one lapse.
        row["lapsed_at"] = event.due_at
        self.lapses[event.lapse_id] = tuple(row[name] for name in LAPSE_COLUMNS)

    def _add_contact(self, raw: bytes) -> None:
        contact = CitizenContact.from_dict(json.loads(raw))
        assert isinstance(contact, CitizenContact)
        self.contacts[contact.complaint_id] = tuple(getattr(contact, c)
                                                    for c in CONTACT_COLUMNS)
