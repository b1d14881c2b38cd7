"""The lifecycle agent: load the complaint, let the core decide, store, send.

Input: complaints.commands.v1 (keyed by complaint_id). Output: complaints.events.v1 and
complaints.state.v1, attached to the input's offset: published and acknowledged before
that offset is committed (stream_publish_on_commit). The complaint and its next wake-up
live in changelog-backed tables on the same partition as its commands, so they survive
restarts and rebalances.
"""

from __future__ import annotations

from datetime import datetime

from agents.offsets import in_order
from agents.runtime import (
    ahead_of_clock,
    clock,
    commands_topic,
    committed_offset,
    complaints_table,
    context,
    dead_letter,
    deadlines_table,
    events_topic,
    metrics,
    observe_latency,
    oversized,
    state_topic,
    time_index,
)
from core.lifecycle import ComplaintState, decide, next_wakeup, snapshot
from schemas.events import COMMANDS, ClockTick, CommandRejected, ComplaintEscalated, decode
from schemas.records import InvalidEvent
from streams.app import app
from streams.topics import COMPLAINT_COMMANDS


def load(complaint_id: str) -> tuple[ComplaintState | None, list[dict]]:
    """The complaint and its outbox: what the commands not yet known to be committed
    sent (see `remember`)."""
    stored = complaints_table.get(complaint_id)
    if not stored:
        return None, []
    return ComplaintState.from_dict(stored["state"]), stored["outbox"]


def remember(outbox: list[dict], message, events: list[bytes], changed: bool,
             refusals: list[str]) -> list[dict]:
    """Faust writes a table's changelog at once but publishes what an agent sends only when
    the input's offset is committed; a crash in between leaves the state ahead of its
    outputs, and the redelivered command would find itself applied (or remembered as
    refused) and send nothing. So the events and dead-letter reasons are stored with the
    state (one changelog write) until their offset is committed, and a redelivery sends
    them again (same event ids: consumers drop repeats). The state snapshot is not stored:
    the latest one, from the state itself, is enough.
    """
    committed = committed_offset(message.tp)
    kept = [e for e in outbox if committed is None or e["offset"] >= committed - 1]
    entry = {"offset": message.offset, "changed": changed,
             "events": [value.decode() for value in events]}
    if refusals:
        entry["refusals"] = refusals
    return [*kept, entry]


async def send_again(state: ComplaintState | None, outbox: list[dict], message) -> bool:
    for entry in outbox:
        if entry["offset"] == message.offset:
            if entry["changed"] and state is not None:
                await state_topic.send(key=message.key, value=snapshot(state).to_json())
            for value in entry["events"]:
                await events_topic.send(key=message.key, value=value.encode())
            for reason in entry.get("refusals", ()):
                await dead_letter(message, reason)
            return True
    return False


def schedule(complaint_id: str, state: ComplaintState | None) -> None:
    wake: datetime | None = next_wakeup(state, context.policy)
    stored_wake = deadlines_table.get(complaint_id)
    if wake is not None and stored_wake != wake.isoformat():
        deadlines_table[complaint_id] = wake.isoformat()
    elif wake is None and stored_wake is not None:
        del deadlines_table[complaint_id]
    time_index.schedule(complaint_id, wake)


@app.agent(commands_topic)
async def lifecycle(stream):
    async for event in in_order(stream.events(), COMPLAINT_COMMANDS.name):
        message = event.message
        if reason := oversized(message):
            await dead_letter(message, reason)
            continue
        try:
            command = decode(event.value, allowed=COMMANDS)
        except InvalidEvent as exc:
            await dead_letter(message, str(exc))
            continue
        key = message.key.decode(errors="replace") if message.key else None
        if key != command.complaint_id:
            await dead_letter(message, "the message key must be the complaint_id")
            continue
        if isinstance(command, ClockTick):
            # Event time moves only with clock ticks, which sources publish after everything
            # dated before them: a command from another partition never drags it ahead.
            clock.observe(command.occurred_at)
        elif reason := ahead_of_clock(command.occurred_at):
            await dead_letter(message, reason)
            continue
        before, outbox = load(command.complaint_id)
        if await send_again(before, outbox, message):
            schedule(command.complaint_id, before)  # its changelog may not have landed
            continue
        decision = decide(before, command, context)
        after = decision.state
        # Readers see the snapshot; a refusal changes only what the complaint remembers.
        shown = snapshot(after) if after is not None else None
        published = shown is not None and (before is None or shown != snapshot(before))
        events = [out.to_json() for out in decision.events]
        refusals = [f"refused: {out.reason}" for out in decision.events
                    if isinstance(out, CommandRejected)]
        if after is not None and after != before:
            complaints_table[command.complaint_id] = {
                "state": after.to_dict(),
                "outbox": remember(outbox, message, events, published, refusals)}
        if published:
            assert shown is not None
            await state_topic.send(key=message.key, value=shown.to_json())
        schedule(command.complaint_id, after)
        for value in events:
            await events_topic.send(key=message.key, value=value)
        for reason in refusals:
            await dead_letter(message, reason)
        for out in decision.events:
            if isinstance(out, ComplaintEscalated) and out.cause == "deadline_missed":
                # An escalation is dated at its due moment; how late it actually ran is
                # the distance from there to this worker's clock.
                metrics.escalation_delay_seconds.observe(
                    max(0.0, (clock.now() - out.previous_due_at).total_seconds()))
        observe_latency("lifecycle", message)
