"""A complaint's timers: SLA warnings, its deadline and, overdue at the state level, reminders.

The naming follows Bytewax's stateful operators: `notify_at` is when the complaint next
needs a wake-up (the agents schedule a ClockTick for it); `on_notify` is what happens at
that moment. `fire_due` runs every wake-up that fell due up to a given time, each at its
own moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.escalation import escalate, lapse_id, remind
from core.policy import LifecyclePolicy
from core.state import (
    OPEN_WITH_DEADLINE,
    ComplaintState,
    Context,
    Decision,
    bump,
    derived_id,
    evolve,
    settle,
)
from schemas.events import Event, SlaWarning

# A far-future clock would otherwise fire reminders without end in one call; the rest fire
# on the next tick.
MAX_STEPS_PER_TICK = 1000


def notify_at(state: ComplaintState | None, policy: LifecyclePolicy) -> datetime | None:
    """When this complaint next needs a tick: a warning, its deadline or a reminder. None
    while no time limit runs (closed, awaiting the citizen, resolution proposed)."""
    if state is None or state.status not in OPEN_WITH_DEADLINE:
        return None
    if state.overdue_at_state:
        return state.next_reminder_at
    earliest = state.due_at
    for fraction in policy.warning_fractions:
        if fraction not in state.warnings_sent:
            moment = warning_time(state, fraction)
            if moment < earliest:
                earliest = moment
    return earliest


# The name the agents and tests use (core.lifecycle re-exports it).
next_wakeup = notify_at


def warning_time(state: ComplaintState, fraction: float) -> datetime:
    """`fraction` of the way from assignment to deadline (in clock time, not working days)."""
    span = state.due_at - state.assigned_at
    return state.assigned_at + timedelta(seconds=span.total_seconds() * fraction)


def fire_due(state: ComplaintState, now: datetime, ctx: Context) -> Decision:
    """Fire whatever fell due up to `now`, each at its own moment (a warning at its fraction
    of the time limit, an escalation at the due time, a reminder at its hour). So the state
    does not depend on how late the timer ran or whether a command caught it up first:
    replays, redeliveries and restarts reach the same state."""
    events: list[Event] = []
    for _ in range(MAX_STEPS_PER_TICK):
        moment = notify_at(state, ctx.policy)
        if moment is None or moment > now:
            break
        step = on_notify(state, moment, ctx)
        assert step.state is not None
        # a warning or a later reminder shows nothing new: no new version (core/state.py)
        state = settle(state, step.state)
        events.extend(step.events)
    return Decision(state, tuple(events))


def on_notify(state: ComplaintState, moment: datetime, ctx: Context) -> Decision:
    """What happens at `moment`, one of the complaint's wake-ups (see notify_at)."""
    if state.overdue_at_state:
        return remind(state, moment, ctx)
    if moment < state.due_at:
        return _warn(state, moment, ctx)
    # The deadline: a lapse. Where it goes (one level up, or overdue at the state level)
    # is the escalation policy's; its event ids derive from the lapse.
    return escalate(state, "deadline_missed", moment, ctx, lapse_id(state))


def _warn(state: ComplaintState, moment: datetime, ctx: Context) -> Decision:
    """Every warning due by `moment` not yet sent (one wake-up may cover two fractions)."""
    due = [f for f in sorted(ctx.policy.warning_fractions)
           if f not in state.warnings_sent and warning_time(state, f) <= moment]
    warned = bump(evolve(state, warnings_sent=(*state.warnings_sent, *due)), moment)
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
