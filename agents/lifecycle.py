"""The lifecycle agent: load the complaint, let the core decide, store, send.

Input: complaints.commands.v1 (keyed by complaint_id). Output: complaints.events.v1 and
complaints.state.v1, attached to the input's offset: published and acknowledged before
that offset is committed (stream_publish_on_commit). The complaint, its outbox and its next
wake-up live in one value of the changelog-backed `complaints` table (agents/stored.py), on
the same partition as its commands, so they survive restarts and rebalances, and a command
costs one table write. Before its registration, the same value holds the commands that
overtook it (core/pending.py), so they survive a restart too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agents import stored
from agents.deadlines import rebuild_index
from core.escalation import for_escalation_subscribers
from core.lifecycle import ComplaintState, next_wakeup, snapshot
from core.pending import Held, expiry, receive
from schemas.events import (
    COMMANDS,
    ClockTick,
    CommandRejected,
    ComplaintEscalated,
    ComplaintRegistered,
    decode,
)
from schemas.records import InvalidEvent
from streams.topics import COMPLAINT_COMMANDS

if TYPE_CHECKING:
    from agents.worker import Worker


def load(w: Worker, complaint_id: str
         ) -> tuple[ComplaintState | None, list[dict], tuple[Held, ...]]:
    """The complaint, its outbox (what the commands not yet known to be committed sent,
    see `remember`) and, before its registration, the commands it holds."""
    raw = w.tables.complaints.get(complaint_id)
    if not raw:
        return None, [], ()
    state, outbox = stored.decode(raw)
    return state, outbox, (stored.decode_held(raw) if state is None else ())


def remember(outbox: list[dict], committed: int | None, message: Any, events: list[bytes],
             changed: bool, refusals: list[str], letters: list[dict] | None = None,
             escalations: list[int] | None = None) -> list[dict]:
    """Faust writes a table's changelog at once but publishes what an agent sends only when
    the input's offset is committed; a crash in between leaves the state ahead of its
    outputs, and the redelivered command would find itself applied (or remembered as
    refused) and send nothing. So the events and dead-letter reasons are stored with the
    state (one changelog write) until their offset is committed, and a redelivery sends
    them again (same event ids: consumers drop repeats). The state snapshot is not stored:
    the latest one, from the state itself, is enough. `letters` are the dead letters of
    held commands refused now (their own offsets and bytes); `escalations` the indexes of
    the events that go to complaints.escalations.v1 too (in the same entry, so a crash
    cannot send one and lose the other).
    """
    kept = [e for e in outbox if committed is None or e["offset"] >= committed - 1]
    entry: dict = {"offset": message.offset, "changed": changed,
                   "events": [value.decode() for value in events]}
    if refusals:
        entry["refusals"] = refusals
    if letters:
        entry["letters"] = letters
    if escalations:
        entry["escalations"] = escalations
    return [*kept, entry]


async def send_again(w: Worker, state: ComplaintState | None, outbox: list[dict],
                     message: Any) -> bool:
    """A redelivered command whose effects were stored: send them again, decide nothing."""
    for entry in outbox:
        if entry["offset"] == message.offset:
            if entry["changed"] and state is not None:
                await w.send(w.topics.state, message.key, snapshot(state).to_json())
            for value in entry["events"]:
                await w.send(w.topics.events, message.key, value.encode())
            for index in entry.get("escalations", ()):
                await w.send(w.topics.escalations, message.key,
                             entry["events"][index].encode())
            for reason in entry.get("refusals", ()):
                await w.dead_letter(message, reason, message.key.decode())
            await send_letters(w, message, entry.get("letters", ()))
            return True
    return False


async def send_letters(w: Worker, message: Any, letters: Any) -> None:
    """The dead letters of held commands refused now, each at its own position on this
    partition, keyed by the complaint."""
    for letter in letters:
        await w.dead_letter_at(message.topic, message.partition, letter["offset"],
                               message.key, letter["raw"].encode(), letter["reason"])


def schedule(w: Worker, complaint_id: str, state: ComplaintState | None,
             held: tuple[Held, ...] = ()) -> datetime | None:
    """The complaint's next wake-up (before its registration: when the first held command
    expires), in the timer's index; returned to be stored with it."""
    wake = (next_wakeup(state, w.context.policy) if state is not None
            else expiry(held, w.held_max_age))
    w.time_index.schedule(complaint_id, wake)
    return wake


def has_room(w: Worker, partition: int) -> bool:
    """Whether this partition may hold one more command for its registration. Its count
    comes from the stored values, recounted after a rebalance (agents/deadlines.py)."""
    if w.index_needs_rebuild:
        rebuild_index(w)
    return w.held_counts.get(partition, 0) < w.settings.held_commands_per_partition


async def handle_command(w: Worker, event: Any) -> None:
    message = event.message
    if reason := w.oversized(message):
        await w.dead_letter(message, reason)
        return
    try:
        command = decode(event.value, allowed=COMMANDS)
    except InvalidEvent as exc:
        await w.dead_letter(message, str(exc))
        return
    key = message.key.decode(errors="replace") if message.key else None
    if key != command.complaint_id:
        await w.dead_letter(message, "the message key must be the complaint_id",
                            command.complaint_id)
        return
    if isinstance(command, ClockTick):
        # Event time moves only with clock ticks, which sources publish after everything
        # dated before them: a command from another partition never drags it ahead.
        w.clock.observe(command.occurred_at)
    elif reason := w.ahead_of_clock(command.occurred_at):
        await w.dead_letter(message, reason)
        return
    cid = command.complaint_id
    before, outbox, held = load(w, cid)
    if await send_again(w, before, outbox, message):
        schedule(w, cid, before, held)
        return
    room = True
    if before is None and not isinstance(command, (ClockTick, ComplaintRegistered)):
        room = has_room(w, message.partition)
    # Before its registration a complaint holds what overtook it (core/pending.py).
    # (its bytes are kept only if it may be held: its dead letter may come later)
    raw = event.value.decode() if before is None else ""
    outcome = receive(before, held, Held(command, message.offset, raw),
                      w.context, max_age=w.held_max_age, room=room)
    decision = outcome.decision
    after = decision.state
    # Readers see the snapshot; a refusal changes only what the complaint remembers.
    shown = snapshot(after) if after is not None else None
    published = shown is not None and (before is None or shown != snapshot(before))
    events = [out.to_json() for out in decision.events]
    escalations = [i for i, out in enumerate(decision.events)
                   if for_escalation_subscribers(out, after)]
    refused_held = {h.command.event_id: h for h in outcome.refused_held}
    refusals, letters = [], []
    for out in decision.events:
        if not isinstance(out, CommandRejected):
            continue
        if (h := refused_held.get(out.rejected_event_id)) is not None:
            letters.append({"offset": h.offset, "raw": h.raw,
                            "reason": f"refused: {out.reason}"})
        else:
            refusals.append(f"refused: {out.reason}")
    if len(outcome.held) != len(held):
        w.held_counts[message.partition] = max(
            0, w.held_counts.get(message.partition, 0) + len(outcome.held) - len(held))
    wake = schedule(w, cid, after, outcome.held)
    if (after is not None and after != before) or outcome.held != held:
        w.tables.complaints[cid] = stored.encode(
            after, remember(outbox, w.committed_offset(message.tp), message, events,
                            published, refusals, letters, escalations), wake,
            outcome.held, message.partition)
    if shown is not None and published:
        await w.send(w.topics.state, message.key, shown.to_json())
    for value in events:
        await w.send(w.topics.events, message.key, value)
    for index in escalations:
        await w.send(w.topics.escalations, message.key, events[index])
    for reason in refusals:
        await w.dead_letter(message, reason, cid)
    await send_letters(w, message, letters)
    for out in decision.events:
        if isinstance(out, ComplaintEscalated) and out.cause == "deadline_missed":
            # An escalation is dated at its due moment; how late it actually ran is the
            # distance from there to this worker's clock.
            w.metrics.escalation_delay_seconds.observe(
                max(0.0, (w.clock.now() - out.previous_due_at).total_seconds()))
    w.observe_latency("lifecycle", message)


def attach(w: Worker) -> None:
    async def lifecycle(stream: Any) -> None:
        async for event in w.inputs(stream, COMPLAINT_COMMANDS):
            await handle_command(w, event)

    w.agents["lifecycle"] = w.app.agent(w.topics.commands, name="lifecycle")(lifecycle)
