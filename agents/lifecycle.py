"""The lifecycle agent: load the complaint, let the core decide, store, send.

Input: complaints.commands.v1 (keyed by complaint_id). Output: complaints.events.v1 and
complaints.state.v1, attached to the input's offset: published and acknowledged before
that offset is committed (stream_publish_on_commit). The complaint and its next wake-up
live in changelog-backed tables on the same partition as its commands, so they survive
restarts and rebalances.
"""

from __future__ import annotations

from datetime import datetime

from agents.runtime import (
    ahead_of_clock,
    clock,
    commands_topic,
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


def load(complaint_id: str) -> ComplaintState | None:
    stored = complaints_table.get(complaint_id)
    return ComplaintState.from_dict(stored) if stored else None


@app.agent(commands_topic)
async def lifecycle(stream):
    async for event in stream.events():
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
        before = load(command.complaint_id)
        decision = decide(before, command, context)
        after = decision.state
        if after is not None and after != before:
            complaints_table[command.complaint_id] = after.to_dict()
            await state_topic.send(key=message.key, value=snapshot(after).to_json())
        wake: datetime | None = next_wakeup(after, context.policy)
        stored_wake = deadlines_table.get(command.complaint_id)
        if wake is not None and stored_wake != wake.isoformat():
            deadlines_table[command.complaint_id] = wake.isoformat()
        elif wake is None and stored_wake is not None:
            del deadlines_table[command.complaint_id]
        time_index.schedule(command.complaint_id, wake)
        for out in decision.events:
            await events_topic.send(key=message.key, value=out.to_json())
            if isinstance(out, CommandRejected):
                await dead_letter(message, f"refused: {out.reason}")
            elif isinstance(out, ComplaintEscalated) and out.cause == "deadline_missed":
                # An escalation is dated at its due moment; how late it actually ran is
                # the distance from there to this worker's clock.
                metrics.escalation_delay_seconds.observe(
                    max(0.0, (clock.now() - out.previous_due_at).total_seconds()))
        observe_latency("lifecycle", message)
