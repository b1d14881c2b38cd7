"""The lifecycle agent: load the complaint, let the core decide, store, send.

Input: complaints.commands.v1 (keyed by complaint_id). Output: complaints.events.v1 and
complaints.state.v1, attached to the input's offset: published and acknowledged before
that offset is committed (stream_publish_on_commit). The complaint, its outbox and its next
wake-up live in one value of the changelog-backed `complaints` table (agents/stored.py), on
the same partition as its commands, so they survive restarts and rebalances, and a command
costs one table write.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agents import stored
from core.lifecycle import ComplaintState, decide, next_wakeup, snapshot
from schemas.events import COMMANDS, ClockTick, CommandRejected, ComplaintEscalated, decode
from schemas.records import InvalidEvent
from streams.topics import COMPLAINT_COMMANDS

if TYPE_CHECKING:
    from agents.worker import Worker


def load(w: Worker, complaint_id: str) -> tuple[ComplaintState | None, list[dict]]:
    """The complaint and its outbox: what the commands not yet known to be committed
    sent (see `remember`)."""
    raw = w.tables.complaints.get(complaint_id)
    if not raw:
        return None, []
    return stored.decode(raw)


def remember(outbox: list[dict], committed: int | None, message: Any, events: list[bytes],
             changed: bool, refusals: list[str]) -> list[dict]:
    """Faust writes a table's changelog at once but publishes what an agent sends only when
    the input's offset is committed; a crash in between leaves the state ahead of its
    outputs, and the redelivered command would find itself applied (or remembered as
    refused) and send nothing. So the events and dead-letter reasons are stored with the
    state (one changelog write) until their offset is committed, and a redelivery sends
    them again (same event ids: consumers drop repeats). The state snapshot is not stored:
    the latest one, from the state itself, is enough.
    """
    kept = [e for e in outbox if committed is None or e["offset"] >= committed - 1]
    entry = {"offset": message.offset, "changed": changed,
             "events": [value.decode() for value in events]}
    if refusals:
        entry["refusals"] = refusals
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
            for reason in entry.get("refusals", ()):
                await w.dead_letter(message, reason)
            return True
    return False


def schedule(w: Worker, complaint_id: str, state: ComplaintState | None) -> datetime | None:
    """The complaint's next wake-up, in the timer's index; returned to be stored with it."""
    wake = next_wakeup(state, w.context.policy)
    w.time_index.schedule(complaint_id, wake)
    return wake


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
        await w.dead_letter(message, "the message key must be the complaint_id")
        return
    if isinstance(command, ClockTick):
        # Event time moves only with clock ticks, which sources publish after everything
        # dated before them: a command from another partition never drags it ahead.
        w.clock.observe(command.occurred_at)
    elif reason := w.ahead_of_clock(command.occurred_at):
        await w.dead_letter(message, reason)
        return
    before, outbox = load(w, command.complaint_id)
    if await send_again(w, before, outbox, message):
        schedule(w, command.complaint_id, before)
        return
    decision = decide(before, command, w.context)
    after = decision.state
    # Readers see the snapshot; a refusal changes only what the complaint remembers.
    shown = snapshot(after) if after is not None else None
    published = shown is not None and (before is None or shown != snapshot(before))
    events = [out.to_json() for out in decision.events]
    refusals = [f"refused: {out.reason}" for out in decision.events
                if isinstance(out, CommandRejected)]
    wake = schedule(w, command.complaint_id, after)
    if after is not None and after != before:
        w.tables.complaints[command.complaint_id] = stored.encode(
            after, remember(outbox, w.committed_offset(message.tp), message, events,
                            published, refusals), wake)
    if shown is not None and published:
        await w.send(w.topics.state, message.key, shown.to_json())
    for value in events:
        await w.send(w.topics.events, message.key, value)
    for reason in refusals:
        await w.dead_letter(message, reason)
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
