"""Every event of the complaint lifecycle, version 1.

Each record carries `event_id`, `complaint_id`, `occurred_at` (UTC) and, on the wire,
`event_type` and `schema_version`. Changing a payload means a new record with
SCHEMA_VERSION + 1 beside the old one, never an edit of a published one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.records import InvalidEvent, Record

Channel = Literal["phone_1100", "portal", "app", "whatsapp", "cm_office", "jan_manch"]
OfficerActionKind = Literal[
    "acknowledged",
    "interim_reply",
    "resolution_proposed",
    "transfer_requested",
    "special_close_proposed",
    "special_close_approved",
    "special_close_rejected",
]
FeedbackOutcome = Literal["satisfied", "not_satisfied", "unreachable"]
VerificationOutcome = Literal["confirmed", "failed"]
EscalationCause = Literal[
    "deadline_missed", "citizen_not_satisfied", "verification_failed", "transfer_cap"
]
AssignmentCause = Literal["routed", "transferred", "returned"]
LapseKind = Literal["deadline_missed", "overdue_at_state"]
Status = Literal[
    "assigned",
    "resolution_proposed",
    "awaiting_citizen",
    "special_close_proposed",
    "closed",
    "special_closed",
]

COMMON_DOCS = {
    "event_id": "unique id of this event (UUID); consumers drop an id they have already seen",
    "complaint_id": "the registration number; every complaint event is keyed by it",
    "occurred_at": "when it happened, ISO-8601 in UTC",
}


@dataclass(frozen=True)
class Event(Record):
    FIELD_DOCS = COMMON_DOCS
    event_id: str
    complaint_id: str
    occurred_at: datetime

    def __post_init__(self) -> None:
        if not self.event_id or not self.complaint_id:
            raise InvalidEvent("event_id and complaint_id must not be empty")
        if len(self.complaint_id) > 64:
            raise InvalidEvent("complaint_id is longer than 64 characters")


# --- into the pipeline ------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintSubmitted(Event):
    """A complaint as a channel hands it over (contains personal data; private topic)."""

    EVENT_TYPE = "complaint.submitted"
    DESCRIPTION = "A complaint handed over by an intake channel. Contains personal data."
    PERSONAL_FIELDS = frozenset({"citizen_phone", "citizen_name"})
    FIELD_DOCS = {
        **COMMON_DOCS,
        "channel": "where the citizen raised it",
        "category": "category code from the taxonomy (decides department and time limit)",
        "district": "district name, e.g. Shimla",
        "block": "development block within the district, e.g. Theog",
        "text": "the complaint in the citizen's words (Hindi, English or mixed), byte-for-byte",
        "citizen_phone": "10-digit mobile number, for call-backs only",
        "citizen_name": "as given by the citizen, for call-backs only",
    }
    channel: Channel
    category: str
    district: str
    block: str
    text: str
    citizen_phone: str
    citizen_name: str

    def __post_init__(self) -> None:
        super().__post_init__()
        digits = self.citizen_phone.removeprefix("+91")
        if not (len(digits) == 10 and digits.isdigit()):
            raise InvalidEvent("citizen_phone: must be a 10-digit Indian mobile number")
        if not self.text.strip():
            raise InvalidEvent("text: must not be empty")


@dataclass(frozen=True)
class ComplaintRegistered(Event):
    """A submission accepted by intake: validated, de-duplicated, personal data replaced."""

    EVENT_TYPE = "complaint.registered"
    DESCRIPTION = "A complaint accepted by intake; the citizen is referred to by a pseudonym."
    FIELD_DOCS = {
        **COMMON_DOCS,
        "citizen_ref": "keyed hash of the citizen's phone: links complaints without the number",
    }
    channel: Channel
    category: str
    district: str
    block: str
    text: str
    citizen_ref: str


@dataclass(frozen=True)
class OfficerActed(Event):
    EVENT_TYPE = "officer.acted"
    DESCRIPTION = "Something the responsible officer (or, for approvals, the officer above) did."
    FIELD_DOCS = {
        **COMMON_DOCS,
        "officer_id": "the acting officer's id from the directory",
        "reason": "required for transfer and special-close requests",
        "target_department": "transfer: the department that should handle it",
        "target_block": "transfer: the block (jurisdiction) that should handle it",
    }
    officer_id: str
    action: OfficerActionKind
    note: str = ""
    reason: str | None = None
    target_department: str | None = None
    target_block: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        needs_reason = ("transfer_requested", "special_close_proposed")
        if self.action in needs_reason and not (self.reason or "").strip():
            raise InvalidEvent(f"{self.action} needs a reason")
        if self.action == "transfer_requested" and not (
            self.target_department or self.target_block
        ):
            raise InvalidEvent("transfer_requested needs target_department or target_block")


@dataclass(frozen=True)
class CitizenFeedback(Event):
    EVENT_TYPE = "citizen.feedback"
    DESCRIPTION = "The result of the helpline's call-back to the citizen."
    outcome: FeedbackOutcome
    comment: str = ""


@dataclass(frozen=True)
class VerificationResult(Event):
    EVENT_TYPE = "verification.result"
    DESCRIPTION = "A CM / minister check call on a closed complaint."
    verifier: Literal["chief_minister", "minister", "secretary"]
    outcome: VerificationOutcome
    note: str = ""


@dataclass(frozen=True)
class ClockTick(Event):
    """The pipeline's own wake-up for one complaint: fire what is due by `occurred_at`."""

    EVENT_TYPE = "clock.tick"
    DESCRIPTION = "Internal: deadlines, warnings and reminders of the complaint due by then."


COMMANDS: tuple[type[Event], ...] = (
    ComplaintRegistered,
    OfficerActed,
    CitizenFeedback,
    VerificationResult,
    ClockTick,
)

# --- out of the pipeline (public; never personal data) ------------------------------


@dataclass(frozen=True)
class ComplaintAssigned(Event):
    EVENT_TYPE = "complaint.assigned"
    DESCRIPTION = "A complaint now lies with this officer, with this time limit."
    cause: AssignmentCause
    channel: Channel
    department: str
    district: str
    tehsil: str
    block: str
    level: int
    officer_id: str
    due_at: datetime


@dataclass(frozen=True)
class ComplaintEscalated(Event):
    EVENT_TYPE = "complaint.escalated"
    DESCRIPTION = "The complaint moved up the ladder Block -> Tehsil -> District -> State."
    FIELD_DOCS = {
        **COMMON_DOCS,
        "lapsed_by": "the officer on record for the lapse (deadline missed) or the one the "
                     "citizen was not satisfied with",
        "overdue_seconds": "how long past the time limit it was when it moved (0 if not late)",
    }
    cause: EscalationCause
    department: str
    district: str
    from_level: int
    to_level: int
    from_officer: str
    to_officer: str
    lapsed_by: str
    due_at: datetime
    previous_due_at: datetime
    overdue_seconds: int


@dataclass(frozen=True)
class SlaWarning(Event):
    EVENT_TYPE = "sla.warning"
    DESCRIPTION = "A share of the time limit has passed without resolution."
    department: str
    district: str
    level: int
    officer_id: str
    fraction: float
    due_at: datetime


@dataclass(frozen=True)
class OverdueAtState(Event):
    EVENT_TYPE = "complaint.overdue_at_state"
    DESCRIPTION = "Level 4 missed its time limit: there is no level above, so it keeps reminding."
    department: str
    district: str
    officer_id: str
    due_at: datetime
    reminder: int


@dataclass(frozen=True)
class LapseRecorded(Event):
    """The accountability record: this officer let this complaint's time limit run out.

    One lapse is one assignment (complaint, level, assigned_at) whose time limit passed
    while the officer held it. Below the state level it is recorded once, with the
    deadline_missed escalation. At the state level there is no level above: it is recorded
    with every OverdueAtState reminder, each record with its own event_id but the same
    lapse_id, and overdue_seconds / held_working_days growing. A reader keeps one row per
    lapse_id, with the figures of its record with the largest overdue_seconds.
    """

    EVENT_TYPE = "complaint.lapse_recorded"
    DESCRIPTION = (
        "An officer let a complaint's time limit run out (the accountability ledger). "
        "Below the state level it comes once, with the escalation; at the state level it "
        "comes again with every overdue reminder: same lapse_id, growing overdue figures."
    )
    FIELD_DOCS = {
        **COMMON_DOCS,
        "occurred_at": "when this record was made, ISO-8601 in UTC: the due moment for a "
                       "missed deadline; the reminder's moment for a complaint overdue at "
                       "the state level",
        "lapse_id": "one id per lapse (complaint, level, assignment): the same on every "
                    "record of it, so a reader keeps one row per lapse",
        "kind": "deadline_missed: levels 1-3, the complaint moved one level up; "
                "overdue_at_state: level 4, nobody above, it is reminded until resolved",
        "officer_id": "the officer who held the complaint when its time limit ran out",
        "level": "the level the officer holds: 1 block, 2 tehsil, 3 district, 4 state",
        "assigned_at": "when the complaint came to this officer (its time limit starts here)",
        "due_at": "when the time limit ran out: the moment of the lapse",
        "limit_working_days": "the complaint's time limit in working days",
        "held_working_days": "working days (weekly offs and holidays not counted) from "
                             "assigned_at to occurred_at: equal to the limit at the lapse "
                             "itself, more with every later reminder",
        "overdue_seconds": "how long past due_at occurred_at is: 0 for a missed deadline, "
                           "growing with each reminder at the state level",
        "reminder": "0 for a missed deadline; at the state level the number of the "
                    "OverdueAtState reminder this record goes with (1, 2, ...)",
    }
    lapse_id: str
    kind: LapseKind
    officer_id: str
    level: int
    department: str
    district: str
    assigned_at: datetime
    due_at: datetime
    limit_working_days: int
    held_working_days: int
    overdue_seconds: int
    reminder: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.limit_working_days, self.held_working_days, self.overdue_seconds,
               self.reminder) < 0:
            raise InvalidEvent("lapse figures must not be negative")
        if (self.kind == "deadline_missed") != (self.reminder == 0):
            raise InvalidEvent("reminder is 0 for a missed deadline and only for one")


@dataclass(frozen=True)
class OfficerActionRecorded(Event):
    EVENT_TYPE = "complaint.officer_action"
    DESCRIPTION = "An officer's action on the record (what the citizen can see)."
    officer_id: str
    level: int
    action: OfficerActionKind
    note: str


@dataclass(frozen=True)
class CallbackRequested(Event):
    EVENT_TYPE = "callback.requested"
    DESCRIPTION = (
        "A task for the helpline: call the citizen back (number from the private contacts "
        "store) no earlier than not_before, within calling hours."
    )
    attempt: int
    not_before: datetime
    purpose: Literal["confirm_resolution"]


@dataclass(frozen=True)
class VerificationRequested(Event):
    EVENT_TYPE = "verification.requested"
    DESCRIPTION = "A closed complaint sampled for a CM / minister check call."
    department: str
    district: str


@dataclass(frozen=True)
class ComplaintClosed(Event):
    EVENT_TYPE = "complaint.closed"
    DESCRIPTION = (
        "Closed: by the citizen's satisfaction, or by an approved special close (never "
        "silently: the reason and both officers are on record)."
    )
    department: str
    district: str
    level: int
    reason: Literal["citizen_satisfied", "special_close"]
    officer_id: str
    registered_at: datetime
    approved_by: str | None = None
    special_close_reason: str | None = None


@dataclass(frozen=True)
class ComplaintReopened(Event):
    EVENT_TYPE = "complaint.reopened"
    DESCRIPTION = "A closed complaint opened again (failed verification or citizen appeal)."
    cause: Literal["verification_failed", "citizen_not_satisfied"]
    reopen_count: int


@dataclass(frozen=True)
class SpecialCloseRequested(Event):
    EVENT_TYPE = "special_close.requested"
    DESCRIPTION = "An officer asks the level above to approve closing without the citizen."
    officer_id: str
    level: int
    approver_level: int
    approver_id: str
    reason: str


@dataclass(frozen=True)
class DuplicateLinked(Event):
    EVENT_TYPE = "complaint.duplicate_linked"
    DESCRIPTION = "A new submission matched an open complaint and was linked to it."
    duplicate_of: str
    channel: Channel


@dataclass(frozen=True)
class CommandRejected(Event):
    EVENT_TYPE = "command.rejected"
    DESCRIPTION = "A well-formed command the complaint's state does not allow (reason given)."
    rejected_event_id: str
    rejected_event_type: str
    reason: str


PUBLIC_EVENTS: tuple[type[Event], ...] = (
    ComplaintAssigned,
    ComplaintEscalated,
    SlaWarning,
    OverdueAtState,
    LapseRecorded,
    OfficerActionRecorded,
    CallbackRequested,
    VerificationRequested,
    ComplaintClosed,
    ComplaintReopened,
    SpecialCloseRequested,
    DuplicateLinked,
    CommandRejected,
)

_BY_TYPE: dict[str, type[Event]] = {
    cls.EVENT_TYPE: cls for cls in (ComplaintSubmitted, *COMMANDS, *PUBLIC_EVENTS)
}


def decode(raw: bytes, allowed: tuple[type[Event], ...] | None = None) -> Event:
    """Parse one event from its wire form, or raise InvalidEvent with the reason."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEvent("payload must be a JSON object")
    event_type = data.get("event_type")
    cls = _BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if cls is None:
        raise InvalidEvent(f"unknown event_type {event_type!r}")
    if allowed is not None and cls not in allowed:
        raise InvalidEvent(f"event_type {event_type!r} does not belong on this topic")
    return cls.from_dict(data)


def all_event_types() -> tuple[type[Event], ...]:
    return tuple(_BY_TYPE.values())
