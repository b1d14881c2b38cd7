"""A complaint's state, its storage form, and what every decision returns.

Pure data: no rule of the lifecycle lives here (core/lifecycle.py is the entry point).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from core.calendar import WorkingCalendar
from core.policy import LifecyclePolicy
from core.routing import Directory
from schemas.events import Event, Status
from schemas.state import ComplaintStateSnapshot

# The statuses in which a time limit runs (warnings, the deadline, state-level reminders).
OPEN_WITH_DEADLINE: frozenset[str] = frozenset({"assigned", "special_close_proposed"})
CLOSED: frozenset[str] = frozenset({"closed", "special_closed"})
_ID_NAMESPACE = uuid.UUID("5e3c2a0e-9d4b-4f43-9a57-6d1f0c7a1100")


_ID_SHA1 = hashlib.sha1(_ID_NAMESPACE.bytes)


def derived_id(*parts: object) -> str:
    """An event id derived from its cause: a redelivered command or a repeated tick gives
    the very same id, so consumers drop the repeat. It is `uuid.uuid5(_ID_NAMESPACE, ...)`
    (a test holds it to that), computed from a prepared hash: a decision derives several
    ids, and building UUID objects cost about a seventh of a replay's time."""
    digest = _ID_SHA1.copy()
    digest.update("/".join(map(str, parts)).encode())
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class Context:
    """What a decision may consult besides the state: who holds which post, the working
    calendar and the operator's policy. Never a clock: time comes with the command."""

    directory: Directory
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)


@dataclass(frozen=True)
class ComplaintState:
    complaint_id: str
    status: Status
    channel: str
    category: str
    department: str
    district: str
    tehsil: str
    block: str
    citizen_ref: str
    registered_at: datetime
    level: int
    officer_id: str
    assigned_at: datetime
    due_at: datetime
    sla_days: int
    escalations: int = 0
    transfers: int = 0
    reopenings: int = 0
    callback_attempts: int = 0
    warnings_sent: tuple[float, ...] = ()
    overdue_at_state: bool = False
    reminders: int = 0
    next_reminder_at: datetime | None = None
    special_close_reason: str | None = None
    special_close_approver: str | None = None
    satisfied_event_id: str | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    updated_at: datetime | None = None
    version: int = 0
    applied: tuple[str, ...] = ()
    # (event_id, reason) of the latest refused commands: a refused command that arrives
    # again is refused again, even after the complaint has moved on (core/lifecycle.py).
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    # --- storage form (Faust table values are JSON) ------------------------------------
    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ComplaintState:
        values = dict(data)
        for name in _DATETIME_FIELDS:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        values["warnings_sent"] = tuple(values.get("warnings_sent", ()))
        values["applied"] = tuple(values.get("applied", ()))
        values["refused"] = tuple(tuple(pair) for pair in values.get("refused", ()))
        return cls(**values)


_DATETIME_FIELDS = (
    "registered_at", "assigned_at", "due_at", "next_reminder_at", "closed_at", "updated_at",
)


@dataclass(frozen=True)
class Decision:
    state: ComplaintState | None
    events: tuple[Event, ...] = ()


_STATE_FIELDS = frozenset(f.name for f in dataclasses.fields(ComplaintState))


def evolve(state: ComplaintState, **changes: object) -> ComplaintState:
    """`dataclasses.replace` for the complaint, without running `__init__` over its 33
    fields again: a decision copies the state about ten times, and `replace` was a quarter
    of a replay's time. The state has no `__post_init__`, so nothing is skipped."""
    unknown = changes.keys() - _STATE_FIELDS
    if unknown:
        raise TypeError(f"ComplaintState has no field(s) {', '.join(sorted(unknown))}")
    new = object.__new__(ComplaintState)
    values = new.__dict__
    values.update(state.__dict__)
    values.update(changes)
    return new


# What a reader of complaints.state.v1 sees of a complaint, besides its version and time
# (core/state.py snapshot). Warnings sent, call-back attempts, reminders, remembered ids
# are the complaint's own bookkeeping.
_VISIBLE = attrgetter(
    "status", "channel", "category", "department", "district", "tehsil", "block", "level",
    "officer_id", "registered_at", "assigned_at", "due_at", "escalations", "transfers",
    "reopenings", "overdue_at_state", "closed_at", "close_reason")


def settle(before: ComplaintState, after: ComplaintState) -> ComplaintState:
    """A version grows only with a visible change: a step (one wake-up, or one command)
    that changes nothing a reader sees keeps the version and updated_at it found.
    Applied per step, never per batch of steps, so the version does not depend on whether
    a warning fired on its own tick or in the catch-up before a command."""
    if after is before or _VISIBLE(after) != _VISIBLE(before):
        return after
    if after.version == before.version and after.updated_at == before.updated_at:
        return after
    return evolve(after, version=before.version, updated_at=before.updated_at)


def bump(state: ComplaintState, now: datetime) -> ComplaintState:
    """A change readers see: a new version, dated `now`."""
    return evolve(state, version=state.version + 1, updated_at=now)


def snapshot(state: ComplaintState) -> ComplaintStateSnapshot:
    """The public view of the state (complaints.state.v1): no personal data, no internals."""
    return ComplaintStateSnapshot(
        event_id=f"{state.complaint_id}/v{state.version}",
        complaint_id=state.complaint_id,
        occurred_at=state.updated_at or state.registered_at,
        status=state.status,
        channel=state.channel,  # type: ignore[arg-type]
        category=state.category,
        department=state.department,
        district=state.district,
        tehsil=state.tehsil,
        block=state.block,
        level=state.level,
        officer_id=state.officer_id,
        registered_at=state.registered_at,
        assigned_at=state.assigned_at,
        due_at=state.due_at,
        escalations=state.escalations,
        transfers=state.transfers,
        reopenings=state.reopenings,
        overdue_at_state=state.overdue_at_state,
        closed_at=state.closed_at,
        close_reason=state.close_reason,
        version=state.version,
    )
