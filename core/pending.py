"""Commands that arrive before their complaint's registration: held, then applied in order.

A registration reaches the commands topic through intake (two hops: validation, then the
caller's partition), an officer's or the call-back desk's command goes there directly; so
a command may overtake the registration it follows. Refusing it ("no such complaint is
registered") would lose it. Instead it is held with the complaint's key, and when the
registration arrives the complaint is registered and the held commands are applied after
it, in the order they arrived, each through `decide` as of its own `occurred_at` (so
whatever fell due before it fires first, as in the ordered stream). Any interleaving of a
registration and its commands so gives the complaint of the ordered stream, registration
first (property test in tests/unit/test_pending.py).

Bounded: a held command expires `max_age` after its `occurred_at` (the complaint's next
wake-up is its earliest expiry, so the deadline timer sends the tick that expires it, in
event time as in wall time: the same on every replay), and then is refused as before,
with the reason. A bound on how many commands a partition may hold is the agents' (it is
a property of a partition, not of one complaint): a command past it is refused at once.

Pure: no Kafka, no clock; time comes with the commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.commands import reject
from core.lifecycle import ComplaintState, Context, Decision, decide
from schemas.events import ClockTick, ComplaintRegistered, Event

NOT_REGISTERED = "no such complaint is registered"


@dataclass(frozen=True)
class Held:
    """A command waiting for its complaint's registration. `offset` and `raw` say where it
    came from (its position on the commands partition and its bytes): the rules do not
    read them; the agents dead-letter an expired one there, as if refused when it came."""

    command: Event
    offset: int = -1
    raw: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a command does to a complaint that may hold commands: the decision (the state
    and every event, refusals included), the commands still held, and the refusals of held
    commands (their CommandRejected events are in `decision.events` too), by event id."""

    decision: Decision
    held: tuple[Held, ...] = ()
    refused_held: tuple[Held, ...] = ()


def expiry(held: tuple[Held, ...], max_age: timedelta) -> datetime | None:
    """When the earliest held command expires: the complaint's next wake-up while it has
    no state."""
    if not held:
        return None
    return min(h.command.occurred_at for h in held) + max_age


def receive(state: ComplaintState | None, held: tuple[Held, ...], command: Held,
            ctx: Context, *, max_age: timedelta, room: bool = True) -> Outcome:
    """Apply `command` to a complaint (`state`, or none yet with `held` commands).

    `room`: whether the partition may hold one more command (the agents' count bound)."""
    event = command.command
    if state is not None:
        # Registered: nothing is ever held for it (the registration released them).
        return Outcome(decide(state, event, ctx))
    if isinstance(event, ComplaintRegistered):
        return _release(event, held, ctx)
    if isinstance(event, ClockTick):
        return _expire(held, event.occurred_at, max_age)
    if any(h.command.event_id == event.event_id for h in held):
        return Outcome(Decision(None), held)  # a repeat of a held command
    if not room:
        return Outcome(Decision(None, (reject(
            event, f"{NOT_REGISTERED} (the partition holds as many commands as it may, "
                   "SANKALP_HELD_COMMANDS_PER_PARTITION)"),)), held)
    return Outcome(Decision(None), (*held, command))


def _release(registration: ComplaintRegistered, held: tuple[Held, ...], ctx: Context
             ) -> Outcome:
    """The registration first, then each held command in arrival order, each caught up to
    its own time by `decide`; a refused registration leaves them refused as unregistered,
    as the ordered stream would."""
    decision = decide(None, registration, ctx)
    state, events = decision.state, list(decision.events)
    for h in held:
        step = decide(state, h.command, ctx)
        state = step.state
        events.extend(step.events)
    rejected = {e.rejected_event_id for e in events if e.EVENT_TYPE == "command.rejected"}
    return Outcome(Decision(state, tuple(events)), (),
                   tuple(h for h in held if h.command.event_id in rejected))


def _expire(held: tuple[Held, ...], now: datetime, max_age: timedelta) -> Outcome:
    """A tick: every held command older than `max_age` at `now` is refused."""
    expired = tuple(h for h in held if h.command.occurred_at + max_age <= now)
    if not expired:
        return Outcome(Decision(None), held)
    minutes = max_age.total_seconds() / 60
    reason = (f"{NOT_REGISTERED} (held {minutes:g} min for its registration, "
              "SANKALP_HELD_COMMAND_MAX_AGE_MINUTES)")
    return Outcome(Decision(None, tuple(reject(h.command, reason) for h in expired)),
                   tuple(h for h in held if h not in expired), expired)
