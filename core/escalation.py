"""The escalation policy in one place: where a complaint goes, and when that is a lapse.

Where it goes, by cause and level (the ladder Block 1 -> Tehsil 2 -> District 3 -> State 4;
"next level" is the next rung of the department's ladder that has an officer):

    cause                   levels 1-3                    level 4 (no level above)
    deadline_missed         next level, fresh limit       stays; overdue at state, reminded
                            + a lapse of the officer      every policy.state_reminder_every,
                                                          each reminder re-records the lapse
    citizen_not_satisfied   next level, fresh limit       returned to the state officer
    verification_failed     next level, fresh limit       with a fresh limit
    transfer_cap            the district level (see       returned (not reached: the cap is
                            transfer_cap_level)           refused from level 3 on, commands)

The lapse rule: a lapse is an officer letting the time limit of an assignment run out, so
only deadline_missed is one. Dissatisfaction, failed verification and the transfer cap
move a complaint up without saying anything about the officer's timeliness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.assignment import assigned_event, fresh_assignment
from core.reference import DISTRICT_LEVEL
from core.routing import STATE_LEVEL, Directory, locate, next_level, officer_at
from core.state import ComplaintState, Context, Decision, bump, derived_id, evolve
from schemas.events import (
    ComplaintClosed,
    ComplaintEscalated,
    EscalationCause,
    Event,
    LapseKind,
    LapseRecorded,
    OverdueAtState,
)

Move = Literal["up", "returned", "reminded"]


@dataclass(frozen=True)
class Target:
    """Where a complaint goes: `up` to another level's officer, `returned` to the same
    officer with a fresh limit, or `reminded` (overdue at the state level, nothing moves)."""

    move: Move
    level: int
    officer_id: str


def transfer_cap_level(department: str) -> int:
    """The transfer-cap rule: a complaint transferred more often than policy.transfer_cap
    allows is not handed sideways again but goes to the district level, where the
    department's district officer can settle who handles it. Every department has a
    district officer (core/reference/departments.py); were one missing, the next rung
    above would take it, as for any escalation."""
    return next_level(department, DISTRICT_LEVEL - 1) or STATE_LEVEL


def is_lapse(cause: EscalationCause) -> bool:
    """Whether the escalation for `cause` records a lapse of the officer who held it."""
    return cause == "deadline_missed"


def escalation_target(state: ComplaintState, cause: EscalationCause, directory: Directory
                      ) -> Target:
    """Where the complaint goes for `cause` (the table in this module's docstring)."""
    if cause == "transfer_cap":
        # never down: a complaint already above the district level stays where it is
        level: int | None = max(state.level, transfer_cap_level(state.department))
    else:
        level = next_level(state.department, state.level)
    if level is None or level == state.level:
        # Nobody above. A lapse there cannot be handed on, so the state officer is
        # reminded until it is resolved; anything else comes back with a fresh limit.
        move: Move = "reminded" if is_lapse(cause) else "returned"
        return Target(move, state.level, state.officer_id)
    place = locate(state.district, state.block)
    return Target("up", level, officer_at(directory, state.department, level, place))


def escalate(state: ComplaintState, cause: EscalationCause, now: datetime, ctx: Context,
             because_of: str) -> Decision:
    """Apply escalation_target at `now`; `because_of` is the id the event ids derive from
    (the command's event id, or the lapse id for a missed deadline)."""
    target = escalation_target(state, cause, ctx.directory)
    if target.move == "reminded":
        return remind(state, now, ctx)
    if target.move == "returned":
        back = fresh_assignment(state, level=state.level, officer_id=state.officer_id,
                                now=now, ctx=ctx)
        return Decision(bump(back, now), (assigned_event(back, "returned", because_of),))
    moved = fresh_assignment(state, level=target.level, officer_id=target.officer_id,
                             now=now, ctx=ctx, escalations=state.escalations + 1)
    escalated = ComplaintEscalated(
        event_id=derived_id(because_of, "escalated", state.level, cause),
        complaint_id=state.complaint_id,
        occurred_at=now,
        cause=cause,
        department=state.department,
        district=state.district,
        from_level=state.level,
        to_level=target.level,
        from_officer=state.officer_id,
        to_officer=target.officer_id,
        lapsed_by=state.officer_id,
        due_at=moved.due_at,
        previous_due_at=state.due_at,
        overdue_seconds=_overdue_seconds(state, now),
    )
    # The lapse is the officer's who held it: recorded from the state before the move.
    lapse = (lapse_recorded(state, "deadline_missed", now, ctx),) if is_lapse(cause) else ()
    return Decision(bump(moved, now), (*lapse, escalated))


def remind(state: ComplaintState, moment: datetime, ctx: Context) -> Decision:
    """Overdue at the state level: mark it and keep reminding, for ever (core/timers.py
    fires the later reminders), each reminder re-recording the same lapse."""
    reminder = state.reminders + 1
    state = bump(evolve(state, overdue_at_state=True, reminders=reminder,
                         next_reminder_at=moment + ctx.policy.state_reminder_every), moment)
    overdue = OverdueAtState(
        event_id=derived_id(state.complaint_id, "overdue", state.assigned_at.isoformat(),
                            reminder),
        complaint_id=state.complaint_id,
        occurred_at=moment,
        department=state.department,
        district=state.district,
        officer_id=state.officer_id,
        due_at=state.due_at,
        reminder=reminder,
    )
    lapse = lapse_recorded(state, "overdue_at_state", moment, ctx, reminder=reminder)
    return Decision(state, (lapse, overdue))


# --- the lapse record ---------------------------------------------------------------------


def lapse_id(state: ComplaintState) -> str:
    """One id per lapse: the complaint, the level and the moment it came to the officer
    (one assignment lapses at most once). Also the cause the deadline escalation's event
    id derives from, as it always was."""
    return derived_id(state.complaint_id, "lapse", state.level, state.assigned_at.isoformat())


def lapse_recorded(state: ComplaintState, kind: LapseKind, moment: datetime, ctx: Context,
                   reminder: int = 0) -> LapseRecorded:
    """The record of `state`'s officer letting its limit run out, with the figures as of
    `moment`. Its event id derives from the lapse id and the reminder (0 for a missed
    deadline), so a redelivery gives the same id and every reminder a new one."""
    lapse = lapse_id(state)
    return LapseRecorded(
        event_id=derived_id(lapse, "recorded", reminder),
        complaint_id=state.complaint_id,
        occurred_at=moment,
        lapse_id=lapse,
        kind=kind,
        officer_id=state.officer_id,
        level=state.level,
        department=state.department,
        district=state.district,
        assigned_at=state.assigned_at,
        due_at=state.due_at,
        limit_working_days=state.sla_days,
        held_working_days=ctx.calendar.working_days_between(state.assigned_at, moment),
        overdue_seconds=_overdue_seconds(state, moment),
        reminder=reminder,
    )


def _overdue_seconds(state: ComplaintState, now: datetime) -> int:
    return max(0, int((now - state.due_at).total_seconds()))


def for_escalation_subscribers(event: Event, state: ComplaintState | None) -> bool:
    """Whether an event also goes to complaints.escalations.v1: an escalation, a
    state-level overdue (and its reminders), and the close of a complaint that had been
    escalated (`state`: the complaint after the decision). "Escalated" is its count of
    escalations, not its level: a department whose ladder starts above level 1 does not
    make every close an escalation subscriber's business."""
    if isinstance(event, (ComplaintEscalated, OverdueAtState)):
        return True
    return (isinstance(event, ComplaintClosed) and state is not None
            and state.escalations > 0)
