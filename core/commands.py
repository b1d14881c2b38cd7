"""What each command does to a complaint: registration, officer actions (incl. transfer and
special close), citizen feedback (close, escalate, call again), reopening and verification.

Each function gets the state already caught up to the command's time (core/lifecycle.py)
and returns a Decision; a refusal is a Decision with the unchanged state and only
CommandRejected events.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from core.assignment import assigned_event, fresh_assignment
from core.escalation import escalate
from core.reference import DISTRICT_LEVEL
from core.routing import (
    RoutingError,
    assign,
    check_department,
    locate,
    next_level,
    officer_at,
    route_new,
)
from core.state import (
    CLOSED,
    OPEN_WITH_DEADLINE,
    ComplaintState,
    Context,
    Decision,
    bump,
    derived_id,
    evolve,
)
from schemas.events import (
    CallbackRequested,
    CitizenFeedback,
    CommandRejected,
    ComplaintClosed,
    ComplaintRegistered,
    ComplaintReopened,
    Event,
    OfficerActed,
    OfficerActionRecorded,
    SpecialCloseRequested,
    VerificationRequested,
    VerificationResult,
)


def reject(command: Event, reason: str) -> CommandRejected:
    return CommandRejected(
        event_id=derived_id(command.event_id, "rejected"),
        complaint_id=command.complaint_id,
        occurred_at=command.occurred_at,
        rejected_event_id=command.event_id,
        rejected_event_type=command.EVENT_TYPE,
        reason=reason,
    )


def register(command: ComplaintRegistered, ctx: Context) -> Decision:
    """A new complaint: routed to its first-level officer with the category's time limit."""
    try:
        route = route_new(ctx.directory, command.category, command.district, command.block)
    except RoutingError as exc:
        return Decision(None, (reject(command, str(exc)),))
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
    return Decision(state, (assigned_event(state, "routed", command.event_id),))


# --- officers -----------------------------------------------------------------------------


def officer_acted(state: ComplaintState, command: OfficerActed, ctx: Context) -> Decision:
    now = command.occurred_at
    action = command.action
    if action in ("special_close_approved", "special_close_rejected"):
        return _special_close_decided(state, command, ctx)
    if command.officer_id != state.officer_id:
        return Decision(state, (reject(command, "only the responsible officer may act"),))
    if state.status not in OPEN_WITH_DEADLINE:
        return Decision(state, (reject(command, f"not possible while {state.status}"),))
    if action in ("acknowledged", "interim_reply"):
        return Decision(bump(state, now), (_recorded(state, command),))
    if state.status == "special_close_proposed":
        return Decision(state, (reject(command, "a special close is awaiting approval"),))
    if action == "resolution_proposed":
        proposed = bump(evolve(state, status="resolution_proposed", callback_attempts=1), now)
        return Decision(proposed, (
            _recorded(state, command),
            _callback(proposed, 1, now, now, command.event_id, ctx),
        ))
    if action == "transfer_requested":
        return _transfer(state, command, ctx)
    return _special_close_proposed(state, command, ctx)


def _special_close_decided(state: ComplaintState, command: OfficerActed, ctx: Context
                           ) -> Decision:
    if state.status != "special_close_proposed":
        return Decision(state, (reject(command, "no special close is awaiting approval"),))
    if command.officer_id != state.special_close_approver:
        return Decision(state, (reject(
            command, "only the officer one level up may decide a special close"),))
    if command.action == "special_close_rejected":
        back = bump(evolve(state, status="assigned", special_close_reason=None,
                            special_close_approver=None), command.occurred_at)
        return Decision(back, (_recorded(state, command),))
    return _close(state, command, ctx, status="special_closed", reason="special_close",
                  approved_by=command.officer_id,
                  special_close_reason=state.special_close_reason)


def _special_close_proposed(state: ComplaintState, command: OfficerActed, ctx: Context
                            ) -> Decision:
    """Closing without the citizen needs the officer one level up to approve it."""
    above = next_level(state.department, state.level)
    if above is None:
        return Decision(state, (reject(
            command, "a special close needs approval one level up; level 4 has none"),))
    approver = officer_at(ctx.directory, state.department, above,
                          locate(state.district, state.block))
    proposed = bump(evolve(state, status="special_close_proposed",
                            special_close_reason=command.reason,
                            special_close_approver=approver), command.occurred_at)
    return Decision(proposed, (SpecialCloseRequested(
        event_id=derived_id(command.event_id, "special_close"),
        complaint_id=state.complaint_id,
        occurred_at=command.occurred_at,
        officer_id=state.officer_id,
        level=state.level,
        approver_level=above,
        approver_id=approver,
        reason=command.reason or "",
    ),))


def _transfer(state: ComplaintState, command: OfficerActed, ctx: Context) -> Decision:
    """To another department or block at the same level; past the cap, up the ladder
    (where to is the escalation policy's transfer-cap rule)."""
    now = command.occurred_at
    transfers = state.transfers + 1
    if transfers > ctx.policy.transfer_cap:
        # From the district level up there is no level to send it to for that: the
        # district settles it (core/escalation.py, transfer_cap_level).
        if state.level >= DISTRICT_LEVEL:
            return Decision(state, (reject(
                command, "transfer cap reached; the district level must resolve it"),))
        capped = evolve(state, transfers=transfers)
        return escalate(capped, "transfer_cap", now, ctx, command.event_id)
    try:
        department = check_department(command.target_department or state.department)
        place = locate(state.district, command.target_block or state.block)
        route = assign(ctx.directory, department, place, state.level, state.sla_days)
    except RoutingError as exc:
        return Decision(state, (reject(command, f"cannot transfer: {exc}"),))
    moved = fresh_assignment(
        state, level=route.level, officer_id=route.officer_id, now=now, ctx=ctx,
        department=route.department, tehsil=route.tehsil, block=route.block,
        transfers=transfers,
    )
    moved = bump(moved, now)
    return Decision(moved, (assigned_event(moved, "transferred", command.event_id),))


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


# --- the citizen --------------------------------------------------------------------------


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


def feedback(state: ComplaintState, command: CitizenFeedback, ctx: Context) -> Decision:
    now = command.occurred_at
    outcome = command.outcome
    if state.status in CLOSED:
        if outcome != "not_satisfied":
            return Decision(state)
        if state.reopenings >= ctx.policy.max_reopens:
            return Decision(state, (reject(command, "the reopen limit is reached"),))
        return _reopen(state, "citizen_not_satisfied", command, ctx)
    if state.status not in ("resolution_proposed", "awaiting_citizen"):
        return Decision(state, (reject(command, "no resolution has been proposed yet"),))
    if outcome == "satisfied":
        return _close(state, command, ctx, status="closed", reason="citizen_satisfied")
    if outcome == "not_satisfied":
        return escalate(state, "citizen_not_satisfied", now, ctx, command.event_id)
    return _unreachable(state, command, ctx)


def _unreachable(state: ComplaintState, command: CitizenFeedback, ctx: Context) -> Decision:
    """Call again later; after the last attempt the policy's unreachable rule applies
    (never a close: only the citizen closes)."""
    now = command.occurred_at
    if state.status == "awaiting_citizen":
        return Decision(state)
    if state.callback_attempts < ctx.policy.callback_max_attempts:
        attempt = state.callback_attempts + 1
        again = bump(evolve(state, callback_attempts=attempt), now)
        retry_at = now + ctx.policy.callback_retry_after
        return Decision(again, (_callback(again, attempt, now, retry_at, command.event_id, ctx),))
    if ctx.policy.unreachable_rule == "return_to_officer":
        back = bump(fresh_assignment(state, level=state.level, officer_id=state.officer_id,
                                     now=now, ctx=ctx), now)
        return Decision(back, (assigned_event(back, "returned", command.event_id),))
    return Decision(bump(evolve(state, status="awaiting_citizen"), now))


# --- closing, verifying, reopening --------------------------------------------------------


def _close(state: ComplaintState, command: Event, ctx: Context, *, status: str, reason: str,
           **closed_fields: object) -> Decision:
    """Closed by the citizen's satisfaction, or as an approved special close (on record,
    never silently); either may be sampled for a CM / minister check."""
    now = command.occurred_at
    closed = bump(evolve(
        state, status=status, closed_at=now, close_reason=reason,  # type: ignore[arg-type]
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
    """A stable sample (hash of complaint and reopen count), so a replay samples the same."""
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


def verification(state: ComplaintState, command: VerificationResult, ctx: Context
                 ) -> Decision:
    if state.status not in CLOSED:
        return Decision(state, (reject(command, "only a closed complaint can be verified"),))
    if command.outcome == "confirmed":
        return Decision(bump(state, command.occurred_at))
    return _reopen(state, "verification_failed", command, ctx)


def _reopen(state: ComplaintState, cause: str, command: Event, ctx: Context) -> Decision:
    """Opened again and escalated one level up (at the state level: returned)."""
    reopened = evolve(state, status="assigned", reopenings=state.reopenings + 1,
                       closed_at=None, close_reason=None, satisfied_event_id=None)
    event = ComplaintReopened(
        event_id=derived_id(command.event_id, "reopened"),
        complaint_id=state.complaint_id,
        occurred_at=command.occurred_at,
        cause=cause,  # type: ignore[arg-type]
        reopen_count=reopened.reopenings,
    )
    escalated = escalate(reopened, cause, command.occurred_at, ctx,  # type: ignore[arg-type]
                         command.event_id)
    return Decision(escalated.state, (event, *escalated.events))
