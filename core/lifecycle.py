"""The complaint state machine: the entry point (docs/domain.md; docs/lifecycle.md).

    decide(state, command, ctx) -> Decision(state, events)
    next_wakeup(state, policy) -> when the complaint needs a ClockTick next (or None)

The current state is a fold over commands. Commands already applied (by event_id) change
nothing; output event ids are derived from their cause, so a redelivered command or a
repeated tick yields the very same events, and consumers drop the repeat.

The rules live by concern:
    core/state.py       the state, its storage form, Decision, Context, snapshot
    core/timers.py      warnings, the deadline, state-level reminders (next_wakeup)
    core/escalation.py  where a complaint goes for a cause, and when that is a lapse
    core/commands.py    registration, officer actions, feedback, reopening, verification
This module only orders them: catch up the timers, apply the command, remember it.
"""

from __future__ import annotations

from core.commands import feedback, officer_acted, register, reject, verification
from core.state import (
    CLOSED,
    OPEN_WITH_DEADLINE,
    ComplaintState,
    Context,
    Decision,
    derived_id,
    evolve,
    settle,
    snapshot,
)
from core.timers import fire_due, next_wakeup
from schemas.events import (
    CitizenFeedback,
    ClockTick,
    CommandRejected,
    ComplaintRegistered,
    Event,
    OfficerActed,
    VerificationResult,
)

__all__ = [
    "CLOSED",
    "OPEN_WITH_DEADLINE",
    "REFUSALS_REMEMBERED",
    "ComplaintState",
    "Context",
    "Decision",
    "decide",
    "derived_id",
    "next_wakeup",
    "snapshot",
]

# A flood of bad commands must not grow a complaint without bound (see `_refuse`).
REFUSALS_REMEMBERED = 50


def decide(state: ComplaintState | None, command: Event, ctx: Context) -> Decision:
    if state is None:
        if isinstance(command, ComplaintRegistered):
            return register(command, ctx)
        if isinstance(command, ClockTick):
            return Decision(None)
        return Decision(None, (reject(command, "no such complaint is registered"),))
    if command.event_id in state.applied:
        return Decision(state)
    for refused_id, reason in state.refused:
        if refused_id == command.event_id:
            return Decision(state, (reject(command, reason),))
    if isinstance(command, ClockTick):
        return fire_due(state, command.occurred_at, ctx)
    # Whatever fell due before this command happens first (a deadline that lapsed before
    # the officer acted has already moved the complaint), however late the timer runs.
    caught_up = fire_due(state, command.occurred_at, ctx)
    state = caught_up.state
    assert state is not None
    if isinstance(command, ComplaintRegistered):
        decision = Decision(state, (reject(command, "complaint is already registered"),))
    elif isinstance(command, OfficerActed):
        decision = officer_acted(state, command, ctx)
    elif isinstance(command, CitizenFeedback):
        decision = feedback(state, command, ctx)
    elif isinstance(command, VerificationResult):
        decision = verification(state, command, ctx)
    else:
        decision = Decision(state, (reject(command, "not a command for complaints"),))
    if _refused(decision, state):
        decision = _refuse(decision, command)
    else:
        decision = _applied(decision, command, state)
    return Decision(decision.state, (*caught_up.events, *decision.events))


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
    return Decision(evolve(state, refused=kept), decision.events)


def _applied(decision: Decision, command: Event, before: ComplaintState) -> Decision:
    """Remembered by id; a new version only if a reader sees a change (core/state.py
    settle): an acknowledgement, a repeated "satisfied" or a confirmed check is on record
    (its event, if any) but shows nothing new in the state."""
    state = decision.state
    if state is None:
        return decision
    applied = evolve(state, applied=(*state.applied, command.event_id),
                     version=state.version + 1, updated_at=command.occurred_at)
    return Decision(settle(before, applied), decision.events)
