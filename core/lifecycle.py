"""The complaint state machine (DOMAIN.md, "Lifecycle").

    decide(state, command, ctx) -> Decision(state, events)
    next_wakeup(state, policy) -> when the complaint needs a ClockTick next (or None)

The current state is a fold over commands. Commands already applied (by event_id) change
nothing; output event ids are derived from their cause, so a redelivered command or a
repeated tick yields the very same events, and consumers drop the repeat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from core.calendar import WorkingCalendar
from core.policy import LifecyclePolicy
from core.routing import (
    STATE_LEVEL,
    Directory,
    RoutingError,
    assign,
    check_department,
    locate,
    next_level,
    officer_at,
    route_new,
)
from schemas.events import (
    CallbackRequested,
    CitizenFeedback,
    ClockTick,
    CommandRejected,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintReopened,
    EscalationCause,
    Event,
    OfficerActed,
    OfficerActionRecorded,
    OverdueAtState,
    SlaWarning,
    SpecialCloseRequested,
    Status,
    VerificationRequested,
    VerificationResult,
)
from schemas.state import ComplaintStateSnapshot

OPEN_WITH_DEADLINE: frozenset[str] = frozenset({"assigned", "special_close_proposed"})
CLOSED: frozenset[str] = frozenset({"closed", "special_closed"})
_ID_NAMESPACE = uuid.UUID("5e3c2a0e-9d4b-4f43-9a57-6d1f0c7a1100")


def derived_id(*parts: object) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass(frozen=True)
class Context:
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
    # again is refused again, even after the complaint has moved on (see `_refuse`).
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


# --- the entry points --------------------------------------------------------------------


def decide(state: ComplaintState | None, command: Event, ctx: Context) -> Decision:
    if state is None:
        if isinstance(command, ComplaintRegistered):
            return _register(command, ctx)
        if isinstance(command, ClockTick):
            return Decision(None)
        return Decision(None, (_reject(command, "no such complaint is registered"),))
    if command.event_id in state.applied:
        return Decision(state)
    for refused_id, reason in state.refused:
        if refused_id == command.event_id:
            return Decision(state, (_reject(command, reason),))
    if isinstance(command, ClockTick):
        return _tick(state, command.occurred_at, ctx)
    # Whatever fell due before this command happens first (a deadline that lapsed before
    # the officer acted has already moved the complaint), however late the timer runs.
    caught_up = _tick(state, command.occurred_at, ctx)
    state = caught_up.state
    assert state is not None
    if isinstance(command, ComplaintRegistered):
        decision = Decision(state, (_reject(command, "complaint is already registered"),))
    elif isinstance(command, OfficerActed):
        decision = _officer_acted(state, command, ctx)
    elif isinstance(command, CitizenFeedback):
        decision = _feedback(state, command, ctx)
    elif isinstance(command, VerificationResult):
        decision = _verification(state, command, ctx)
    else:
        decision = Decision(state, (_reject(command, "not a command for complaints"),))
    if _refused(decision, state):
        decision = _refuse(decision, command)
    else:
        decision = _applied(decision, command)
    return Decision(decision.state, (*caught_up.events, *decision.events))


def next_wakeup(state: ComplaintState | None, policy: LifecyclePolicy) -> datetime | None:
    """When this complaint next needs a tick: a warning, its deadline or a reminder."""
    if state is None or state.status not in OPEN_WITH_DEADLINE:
        return None
    if state.overdue_at_state:
        return state.next_reminder_at
    moments = [
        _warning_time(state, f)
        for f in policy.warning_fractions
        if f not in state.warnings_sent and _warning_time(state, f) < state.due_at
    ]
    return min([*moments, state.due_at])


def snapshot(state: ComplaintState) -> ComplaintStateSnapshot:
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


# --- helpers -----------------------------------------------------------------------------


REFUSALS_REMEMBERED = 50


def _refused(decision: Decision, state: ComplaintState) -> bool:
    return decision.state is state and bool(decision.events) and all(
        isinstance(e, CommandRejected) for e in decision.events)


def _refuse(decision: Decision, command: Event) -> Decision:
    """A refused command changes nothing a reader sees (no version, no history, no
    updated_at), but its id is remembered: a repeat of it must be refused again (same
    rejection id) even after the complaint has moved on to where it would now be accepted,
    or replaying a stream twice would not give the same complaint. Only the latest
    REFUSALS_REMEMBERED are kept, so a flood of bad commands cannot grow a complaint
    without bound."""
    state = decision.state
    assert state is not None
    reasons = tuple((e.rejected_event_id, e.reason) for e in decision.events
                    if isinstance(e, CommandRejected))
    kept = (*state.refused, *reasons)[-REFUSALS_REMEMBERED:]
    return Decision(replace(state, refused=kept), decision.events)


def _applied(decision: Decision, command: Event) -> Decision:
    state = decision.state
    if state is None:
        return decision
    return Decision(
        replace(state, applied=(*state.applied, command.event_id), version=state.version + 1,
                updated_at=command.occurred_at),
        decision.events,
    )


def _bump(state: ComplaintState, now: datetime) -> ComplaintState:
    return replace(state, version=state.version + 1, updated_at=now)


def _reject(command: Event, reason: str) -> CommandRejected:
    return CommandRejected(
        event_id=derived_id(command.event_id, "rejected"),
        complaint_id=command.complaint_id,
        occurred_at=command.occurred_at,
        rejected_event_id=command.event_id,
        rejected_event_type=command.EVENT_TYPE,
        reason=reason,
    )


def _warning_time(state: ComplaintState, fraction: float) -> datetime:
    span = state.due_at - state.assigned_at
    return state.assigned_at + timedelta(seconds=span.total_seconds() * fraction)


def _register(command: ComplaintRegistered, ctx: Context) -> Decision:
    try:
        route = route_new(ctx.directory, command.category, command.district, command.block)
    except RoutingError as exc:
        return Decision(None, (_reject(command, str(exc)),))
    now = command.occurred_at
    due = ctx.calendar.add_working_days(now, route.sla_days)
    state = ComplaintState(
        complaint_id=command.complaint_id,
        status="assigned",
        channel=command.channel,
        category=command.category,
        department=route.department,
        district=route.district,
        tehsil=route.tehsil,
        block=route.block,
        citizen_ref=command.citizen_ref,
        registered_at=now,
        level=route.level,
        officer_id=route.officer_id,
        assigned_at=now,
        due_at=due,
        sla_days=route.sla_days,
        updated_at=now,
        version=1,
        applied=(command.event_id,),
    )
    return Decision(state, (_assigned_event(state, "routed", command.event_id),))


def _assigned_event(state: ComplaintState, cause: str, because_of: str) -> ComplaintAssigned:
    return ComplaintAssigned(
        event_id=derived_id(because_of, "assigned", state.level, state.officer_id),
        complaint_id=state.complaint_id,
        occurred_at=state.assigned_at,
        cause=cause,  # type: ignore[arg-type]
        channel=state.channel,  # type: ignore[arg-type]
        department=state.department,
        district=state.district,
        tehsil=state.tehsil,
        block=state.block,
        level=state.level,
        officer_id=state.officer_id,
        due_at=state.due_at,
    )


def _fresh_assignment(state: ComplaintState, *, level: int, officer_id: str, now: datetime,
                      ctx: Context, **changes: object) -> ComplaintState:
    return replace(
        state,
        status="assigned",
        level=level,
        officer_id=officer_id,
        assigned_at=now,
        due_at=ctx.calendar.add_working_days(now, state.sla_days),
        warnings_sent=(),
        overdue_at_state=False,
        reminders=0,
        next_reminder_at=None,
        callback_attempts=0,
        special_close_reason=None,
        special_close_approver=None,
        **changes,
    )


def _escalate(state: ComplaintState, cause: EscalationCause, now: datetime, ctx: Context,
              because_of: str) -> Decision:
    """One level up with a fresh time limit; at the state level, back to its officer."""
    place = locate(state.district, state.block)
    target = next_level(state.department, state.level)
    if cause == "transfer_cap":
        target = max(state.level, next_level(state.department, 2) or STATE_LEVEL)
    if target is None or target == state.level:
        # Level 4 has no level above: the state officer gets it back with a fresh limit.
        moved = _fresh_assignment(state, level=state.level, officer_id=state.officer_id,
                                  now=now, ctx=ctx)
        return Decision(_bump(moved, now), (_assigned_event(moved, "returned", because_of),))
    officer = officer_at(ctx.directory, state.department, target, place)
    moved = _fresh_assignment(state, level=target, officer_id=officer, now=now, ctx=ctx,
                              escalations=state.escalations + 1)
    event = ComplaintEscalated(
        event_id=derived_id(because_of, "escalated", state.level, cause),
        complaint_id=state.complaint_id,
        occurred_at=now,
        cause=cause,
        department=state.department,
        district=state.district,
        from_level=state.level,
        to_level=target,
        from_officer=state.officer_id,
        to_officer=officer,
        lapsed_by=state.officer_id,
        due_at=moved.due_at,
        previous_due_at=state.due_at,
        overdue_seconds=max(0, int((now - state.due_at).total_seconds())),
    )
    return Decision(_bump(moved, now), (event,))


# A far-future clock would otherwise fire reminders without end in one call; the rest fire
# on the next tick.
MAX_STEPS_PER_TICK = 1000


def _tick(state: ComplaintState, now: datetime, ctx: Context) -> Decision:
    """Fire whatever fell due up to `now`, each at its own moment (a warning at its fraction
    of the time limit, an escalation at the due time, a reminder at its hour). So the state
    does not depend on how late the timer ran or whether a command caught it up first:
    replays, redeliveries and restarts reach the same state."""
    events: list[Event] = []
    for _ in range(MAX_STEPS_PER_TICK):
        moment = next_wakeup(state, ctx.policy)
        if moment is None or moment > now:
            break
        step = _fire(state, moment, ctx)
        state = step.state
        assert state is not None
        events.extend(step.events)
    return Decision(state, tuple(events))


def _fire(state: ComplaintState, moment: datetime, ctx: Context) -> Decision:
    """What happens at `moment`, one of the complaint's wake-ups (see next_wakeup)."""
    if state.overdue_at_state:
        return _remind(state, moment, ctx)
    if moment < state.due_at:
        due = [f for f in sorted(ctx.policy.warning_fractions)
               if f not in state.warnings_sent and _warning_time(state, f) <= moment]
        warned = _bump(replace(state, warnings_sent=(*state.warnings_sent, *due)), moment)
        return Decision(warned, tuple(
            SlaWarning(
                event_id=derived_id(state.complaint_id, "warning", state.level,
                                    state.assigned_at.isoformat(), fraction),
                complaint_id=state.complaint_id,
                occurred_at=moment,
                department=state.department,
                district=state.district,
                level=state.level,
                officer_id=state.officer_id,
                fraction=fraction,
                due_at=state.due_at,
            ) for fraction in due))
    if next_level(state.department, state.level) is not None:
        lapse_key = derived_id(state.complaint_id, "lapse", state.level,
                               state.assigned_at.isoformat())
        return _escalate(state, "deadline_missed", moment, ctx, lapse_key)
    return _remind(state, moment, ctx)


def _remind(state: ComplaintState, moment: datetime, ctx: Context) -> Decision:
    """Overdue at the state level: mark it and keep reminding, for ever."""
    reminder = state.reminders + 1
    state = _bump(replace(state, overdue_at_state=True, reminders=reminder,
                          next_reminder_at=moment + ctx.policy.state_reminder_every), moment)
    return Decision(state, (OverdueAtState(
        event_id=derived_id(state.complaint_id, "overdue", state.assigned_at.isoformat(),
                            reminder),
        complaint_id=state.complaint_id,
        occurred_at=moment,
        department=state.department,
        district=state.district,
        officer_id=state.officer_id,
        due_at=state.due_at,
        reminder=reminder,
    ),))


def _recorded(state: ComplaintState, command: OfficerActed) -> OfficerActionRecorded:
    return OfficerActionRecorded(
        event_id=derived_id(command.event_id, "recorded"),
        complaint_id=state.complaint_id,
        occurred_at=command.occurred_at,
        officer_id=command.officer_id,
        level=state.level,
        action=command.action,
        note=command.note,
    )


def _callback(state: ComplaintState, attempt: int, now: datetime, not_before: datetime,
              because_of: str, ctx: Context) -> CallbackRequested:
    """A call-back task, never outside calling hours (07:00-22:00 IST)."""
    return CallbackRequested(
        event_id=derived_id(because_of, "callback", attempt),
        complaint_id=state.complaint_id,
        occurred_at=now,
        attempt=attempt,
        not_before=ctx.calendar.next_calling_time(not_before),
        purpose="confirm_resolution",
    )


def _officer_acted(state: ComplaintState, command: OfficerActed, ctx: Context) -> Decision:
    now = command.occurred_at
    action = command.action
    if action in ("special_close_approved", "special_close_rejected"):
        if state.status != "special_close_proposed":
            return Decision(state, (_reject(command, "no special close is awaiting approval"),))
        if command.officer_id != state.special_close_approver:
            return Decision(state, (_reject(
                command, "only the officer one level up may decide a special close"),))
        if action == "special_close_rejected":
            back = _bump(replace(state, status="assigned", special_close_reason=None,
                                 special_close_approver=None), now)
            return Decision(back, (_recorded(state, command),))
        return _close(state, command, ctx, status="special_closed", reason="special_close",
                      approved_by=command.officer_id,
                      special_close_reason=state.special_close_reason)

    if command.officer_id != state.officer_id:
        return Decision(state, (_reject(command, "only the responsible officer may act"),))
    if state.status not in OPEN_WITH_DEADLINE:
        return Decision(state, (_reject(command, f"not possible while {state.status}"),))
    if action in ("acknowledged", "interim_reply"):
        return Decision(_bump(state, now), (_recorded(state, command),))
    if state.status == "special_close_proposed":
        return Decision(state, (_reject(command, "a special close is awaiting approval"),))
    if action == "resolution_proposed":
        proposed = _bump(replace(state, status="resolution_proposed", callback_attempts=1), now)
        return Decision(proposed, (
            _recorded(state, command),
            _callback(proposed, 1, now, now, command.event_id, ctx),
        ))
    if action == "transfer_requested":
        return _transfer(state, command, ctx)
    # special_close_proposed
    above = next_level(state.department, state.level)
    if above is None:
        return Decision(state, (_reject(
            command, "a special close needs approval one level up; level 4 has none"),))
    approver = officer_at(ctx.directory, state.department, above,
                          locate(state.district, state.block))
    proposed = _bump(replace(state, status="special_close_proposed",
                             special_close_reason=command.reason,
                             special_close_approver=approver), now)
    return Decision(proposed, (SpecialCloseRequested(
        event_id=derived_id(command.event_id, "special_close"),
        complaint_id=state.complaint_id,
        occurred_at=now,
        officer_id=state.officer_id,
        level=state.level,
        approver_level=above,
        approver_id=approver,
        reason=command.reason or "",
    ),))


def _transfer(state: ComplaintState, command: OfficerActed, ctx: Context) -> Decision:
    now = command.occurred_at
    transfers = state.transfers + 1
    if transfers > ctx.policy.transfer_cap:
        if state.level >= 3:
            return Decision(state, (_reject(
                command, "transfer cap reached; the district level must resolve it"),))
        capped = replace(state, transfers=transfers)
        return _escalate(capped, "transfer_cap", now, ctx, command.event_id)
    try:
        department = check_department(command.target_department or state.department)
        place = locate(state.district, command.target_block or state.block)
        route = assign(ctx.directory, department, place, state.level, state.sla_days)
    except RoutingError as exc:
        return Decision(state, (_reject(command, f"cannot transfer: {exc}"),))
    moved = _fresh_assignment(
        state, level=route.level, officer_id=route.officer_id, now=now, ctx=ctx,
        department=route.department, tehsil=route.tehsil, block=route.block,
        transfers=transfers,
    )
    moved = _bump(moved, now)
    return Decision(moved, (_assigned_event(moved, "transferred", command.event_id),))


def _close(state: ComplaintState, command: Event, ctx: Context, *, status: str, reason: str,
           **closed_fields: object) -> Decision:
    """Closed by the citizen's satisfaction, or as an approved special close (on record,
    never silently); either may be sampled for a CM / minister check."""
    now = command.occurred_at
    closed = _bump(replace(
        state, status=status, closed_at=now, close_reason=reason,
        satisfied_event_id=command.event_id if reason == "citizen_satisfied" else None,
    ), now)
    event = ComplaintClosed(
        event_id=derived_id(command.event_id, "closed"),
        complaint_id=state.complaint_id,
        occurred_at=now,
        department=state.department,
        district=state.district,
        level=state.level,
        reason=reason,  # type: ignore[arg-type]
        officer_id=state.officer_id,
        registered_at=state.registered_at,
        **closed_fields,  # type: ignore[arg-type]
    )
    return Decision(closed, (event, *_maybe_verify(closed, command.event_id, ctx)))


def _maybe_verify(state: ComplaintState, because_of: str, ctx: Context) -> list[Event]:
    digest = hashlib.sha256(f"{state.complaint_id}/{state.reopenings}".encode()).digest()
    if int.from_bytes(digest[:4], "big") / 2**32 >= ctx.policy.verification_sample_rate:
        return []
    return [VerificationRequested(
        event_id=derived_id(because_of, "verification"),
        complaint_id=state.complaint_id,
        occurred_at=state.closed_at or state.updated_at or state.registered_at,
        department=state.department,
        district=state.district,
    )]


def _feedback(state: ComplaintState, command: CitizenFeedback, ctx: Context) -> Decision:
    now = command.occurred_at
    outcome = command.outcome
    if state.status in CLOSED:
        if outcome != "not_satisfied":
            return Decision(state)
        if state.reopenings >= ctx.policy.max_reopens:
            return Decision(state, (_reject(command, "the reopen limit is reached"),))
        return _reopen(state, "citizen_not_satisfied", command, ctx)
    if state.status not in ("resolution_proposed", "awaiting_citizen"):
        return Decision(state, (_reject(command, "no resolution has been proposed yet"),))
    if outcome == "satisfied":
        return _close(state, command, ctx, status="closed", reason="citizen_satisfied")
    if outcome == "not_satisfied":
        return _escalate(state, "citizen_not_satisfied", now, ctx, command.event_id)
    # unreachable
    if state.status == "awaiting_citizen":
        return Decision(state)
    if state.callback_attempts < ctx.policy.callback_max_attempts:
        attempt = state.callback_attempts + 1
        again = _bump(replace(state, callback_attempts=attempt), now)
        retry_at = now + ctx.policy.callback_retry_after
        return Decision(again, (_callback(again, attempt, now, retry_at, command.event_id, ctx),))
    if ctx.policy.unreachable_rule == "return_to_officer":
        back = _bump(_fresh_assignment(state, level=state.level, officer_id=state.officer_id,
                                       now=now, ctx=ctx), now)
        return Decision(back, (_assigned_event(back, "returned", command.event_id),))
    return Decision(_bump(replace(state, status="awaiting_citizen"), now))


def _reopen(state: ComplaintState, cause: str, command: Event, ctx: Context) -> Decision:
    reopened = replace(state, status="assigned", reopenings=state.reopenings + 1,
                       closed_at=None, close_reason=None, satisfied_event_id=None)
    event = ComplaintReopened(
        event_id=derived_id(command.event_id, "reopened"),
        complaint_id=state.complaint_id,
        occurred_at=command.occurred_at,
        cause=cause,  # type: ignore[arg-type]
        reopen_count=reopened.reopenings,
    )
    escalated = _escalate(reopened, cause, command.occurred_at, ctx,  # type: ignore[arg-type]
                          command.event_id)
    return Decision(escalated.state, (event, *escalated.events))


def _verification(state: ComplaintState, command: VerificationResult, ctx: Context
                  ) -> Decision:
    if state.status not in CLOSED:
        return Decision(state, (_reject(command, "only a closed complaint can be verified"),))
    if command.outcome == "confirmed":
        return Decision(_bump(state, command.occurred_at))
    return _reopen(state, "verification_failed", command, ctx)
