"""The deadline timer: wake the complaints that are due, through their own partition.

A Faust table may only change inside its stream, so the timer does not escalate anything
itself: it sends a ClockTick command for each due complaint to complaints.commands.v1,
and the lifecycle agent applies it in order with the complaint's other commands. A tick
that repeats, or one re-sent after a crash, changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime

from agents.runtime import (
    IndexState,
    acknowledged,
    clock,
    commands_topic,
    deadlines_table,
    log,
    time_index,
)
from core.lifecycle import derived_id
from schemas.events import ClockTick
from streams.app import app, settings

MAX_TICKS_PER_ROUND = 5000


def rebuild_index() -> int:
    """After a rebalance: the due times of this worker's partitions, from the table."""
    time_index.clear()
    for complaint_id, when in deadlines_table.items():
        if when:
            time_index.schedule(complaint_id, datetime.fromisoformat(when))
    IndexState.needs_rebuild = False
    return len(time_index)


@app.timer(interval=settings.tick_interval_seconds)
async def fire_due_deadlines() -> None:
    if IndexState.needs_rebuild:
        count = rebuild_index()
        log.info("time index rebuilt: %d complaint(s) with a pending deadline", count)
    now = clock.now()
    due = time_index.pop_due(now, limit=MAX_TICKS_PER_ROUND)
    pending = []
    for complaint_id, when in due:
        # In event time the tick happens at the due moment itself, so a replay decides
        # exactly as live time would have, however late this timer runs.
        at = when if clock.mode == "event" else now
        tick = ClockTick(event_id=derived_id(complaint_id, "tick", when.isoformat()),
                         complaint_id=complaint_id, occurred_at=at)
        pending.append(await commands_topic.send(key=complaint_id.encode(),
                                                 value=tick.to_json()))
    await acknowledged(pending)
