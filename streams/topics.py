"""Every Kafka topic the project owns, declared once: name, partitions, key, retention.

`sankalp topics create` creates them; Faust agents look them up here, so a topic's
shape is never restated elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.contacts import CitizenContact
from schemas.deadletter import DeadLetter
from schemas.directory import OfficerPost
from schemas.events import (
    COMMANDS,
    PUBLIC_EVENTS,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintSubmitted,
    OverdueAtState,
)
from schemas.records import Record
from schemas.state import ComplaintStateSnapshot
from streams.settings import Settings

Audience = Literal["public", "internal", "private"]

DAY_MS = 24 * 60 * 60 * 1000
# Ingress topics accept up to 8 MiB (the broker default is 1 MiB) so that an oversized
# payload reaches the agents and is dead-lettered with the reason (SANKALP_MAX_PAYLOAD_BYTES)
# rather than failing in a producer nobody watches.
INGRESS_MAX_MESSAGE_BYTES = {"max.message.bytes": str(8 * 1024 * 1024)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    carries: str
    compacted: bool = False
    retention_ms: int | None = 30 * DAY_MS
    partitions: int | None = None  # None: the settings' topic_partitions (co-partitioning)
    extra_config: dict[str, str] = field(default_factory=dict)
    payloads: tuple[type[Record], ...] = ()
    # public: any subscriber; internal: the pipeline's own; private: personal data inside
    audience: Audience = "internal"
    # what a consumer may rely on about order (the AsyncAPI's x-ordering); None: in order
    # per key (one partition per key), none across keys
    ordering: str | None = None

    def kafka_config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None and not self.compacted:
            config["retention.ms"] = str(self.retention_ms)
        config.update(self.extra_config)
        return config

    def partitions_for(self, settings: Settings) -> int:
        return self.partitions or settings.topic_partitions


SMOKE_COMPLAINTS = TopicSpec(
    name="smoke.complaints",
    key="complaint_id",
    carries="sample complaints for the foundation smoke pipeline (JSON)",
    retention_ms=1 * DAY_MS,
)
SMOKE_ASSIGNMENTS = TopicSpec(
    name="smoke.assignments",
    key="complaint_id",
    carries="the smoke pipeline's routing decision for each sample complaint (JSON)",
    retention_ms=1 * DAY_MS,
)

COMPLAINTS_SUBMITTED = TopicSpec(
    name="complaints.submitted.v1",
    key="complaint_id",
    carries="complaints as the channels (1100 call centre, portal, app, WhatsApp, CM office, "
            "Jan Manch desks) hand them over; holds the citizen's phone and name",
    retention_ms=7 * DAY_MS,
    extra_config=INGRESS_MAX_MESSAGE_BYTES,
    payloads=(ComplaintSubmitted,),
    audience="private",
)
INTAKE_BY_CITIZEN = TopicSpec(
    name="complaints.intake-by-citizen.v1",
    key="citizen_ref",
    carries="valid submissions re-keyed by the caller's pseudonym, so duplicate detection and "
            "the per-caller limit see one caller's submissions in order; private",
    retention_ms=7 * DAY_MS,
    payloads=(ComplaintSubmitted,),
    audience="private",
)
COMPLAINT_COMMANDS = TopicSpec(
    name="complaints.commands.v1",
    key="complaint_id",
    carries="everything that may change a complaint, in order: registrations accepted by "
            "intake, officer actions, citizen feedback, verification results, the clock's ticks",
    retention_ms=30 * DAY_MS,
    extra_config=INGRESS_MAX_MESSAGE_BYTES,
    payloads=COMMANDS,
)
COMPLAINT_EVENTS = TopicSpec(
    name="complaints.events.v1",
    key="complaint_id",
    carries="what happened to complaints: assigned, escalated, SLA warnings, overdue at state, "
            "lapses on record (which officer let which time limit run out), officer actions, "
            "call-back and verification tasks, closed, reopened, duplicates, rejected "
            "commands. No personal data; downstream systems subscribe here",
    retention_ms=90 * DAY_MS,
    # PUBLIC_EVENTS (schemas/events.py) includes complaint.lapse_recorded
    payloads=PUBLIC_EVENTS,
    audience="public",
)
COMPLAINT_ESCALATIONS = TopicSpec(
    name="complaints.escalations.v1",
    key="complaint_id",
    carries="for escalation subscribers (district and state cells, the CM's office): the "
            "same records, with the same event ids, as on complaints.events.v1 for "
            "complaint.escalated, complaint.overdue_at_state, and complaint.closed when it "
            "ends a complaint that had been escalated (closed above level 1). No personal data",
    retention_ms=90 * DAY_MS,
    payloads=(ComplaintEscalated, OverdueAtState, ComplaintClosed),
    audience="public",
    ordering="in order per complaint_id, as on complaints.events.v1 (both are written from "
             "the same decision, events first); none across complaints",
)
COMPLAINT_STATE = TopicSpec(
    name="complaints.state.v1",
    key="complaint_id",
    carries="the current state of every complaint (latest wins); no personal data",
    compacted=True,
    payloads=(ComplaintStateSnapshot,),
    audience="public",
)
DEAD_LETTERS = TopicSpec(
    name="complaints.deadletter.v1",
    key="complaint_id when the payload names one, else the original key",
    carries="inputs that could not be accepted, with the reason and the original bytes",
    retention_ms=30 * DAY_MS,
    payloads=(DeadLetter,),
    audience="private",
)
OFFICER_DIRECTORY = TopicSpec(
    name="reference.officers.v1",
    key="post_id",
    carries="who holds each post (department x level x place); a new record is a transfer",
    compacted=True,
    partitions=1,
    payloads=(OfficerPost,),
)
CITIZEN_CONTACTS = TopicSpec(
    name="citizens.contacts.v1",
    key="complaint_id",
    carries="how to call the citizen back about a complaint (phone, name); private",
    compacted=True,
    payloads=(CitizenContact,),
    audience="private",
)

LIFECYCLE_TOPICS: tuple[TopicSpec, ...] = (
    COMPLAINTS_SUBMITTED,
    INTAKE_BY_CITIZEN,
    COMPLAINT_COMMANDS,
    COMPLAINT_EVENTS,
    COMPLAINT_ESCALATIONS,
    COMPLAINT_STATE,
    DEAD_LETTERS,
    OFFICER_DIRECTORY,
    CITIZEN_CONTACTS,
)
ALL_TOPICS: tuple[TopicSpec, ...] = (*LIFECYCLE_TOPICS, SMOKE_COMPLAINTS, SMOKE_ASSIGNMENTS)
# What the Faust workers consume (their consumer group's lag, the inputs they guard).
WORKER_INPUTS: tuple[TopicSpec, ...] = (COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN,
                                        COMPLAINT_COMMANDS)


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the contract requires of every
    producer, schemas/contract.py) gives a keyed message."""
    from aiokafka.partitioner import murmur2  # Faust's client; imported only when asked

    return (murmur2(key) & 0x7FFFFFFF) % partitions
