"""A complaint coming to an officer with a fresh time limit, and the event that says so.

Shared by registration, transfer, escalation and the returns at the state level, so that
every new assignment resets the same things (warnings, reminders, call-backs, a pending
special close) and none is forgotten in one of them.
"""

from __future__ import annotations

from datetime import datetime

from core.state import ComplaintState, Context, derived_id, evolve
from schemas.events import AssignmentCause, ComplaintAssigned


def fresh_assignment(state: ComplaintState, *, level: int, officer_id: str, now: datetime,
                     ctx: Context, **changes: object) -> ComplaintState:
    """The complaint with `officer_id` at `level` from `now`, its full time limit ahead."""
    return evolve(
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
        **changes,  # type: ignore[arg-type]
    )


def assigned_event(state: ComplaintState, cause: AssignmentCause, because_of: str
                   ) -> ComplaintAssigned:
    """ComplaintAssigned for the assignment `state` now holds (after fresh_assignment)."""
    return ComplaintAssigned(
        event_id=derived_id(because_of, "assigned", state.level, state.officer_id),
        complaint_id=state.complaint_id,
        occurred_at=state.assigned_at,
        cause=cause,
        channel=state.channel,  # type: ignore[arg-type]
        department=state.department,
        district=state.district,
        tehsil=state.tehsil,
        block=state.block,
        level=state.level,
        officer_id=state.officer_id,
        due_at=state.due_at,
    )
