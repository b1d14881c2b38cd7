"""The deadline timer: wake the complaints that are due, through their own partition.

A Faust table may only change inside its stream, so the timer does not escalate anything
itself: it sends a ClockTick command for each due complaint to complaints.commands.v1,
and the lifecycle agent applies it in order with the complaint's other commands. A tick
that repeats, or one re-sent after a crash, changes nothing the second time.
In bytewax's terms: each complaint's stored value carries its `notify_at` (agents/stored.py),
and the lifecycle's handling of the tick is its `on_notify`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from agents import stored
from core.lifecycle import derived_id
from schemas.events import ClockTick

if TYPE_CHECKING:
    from agents.worker import Worker

log = logging.getLogger("sankalp")

MAX_TICKS_PER_ROUND = 5000


async def acknowledged(pending: list) -> None:
    """Wait until every send is acknowledged (acks=all). Only for sends outside an event
    (the timer's): inside one, Faust publishes and awaits them before committing it."""
    if pending:
        await asyncio.gather(*pending)



def rebuild_index(w: Worker) -> int:
    """After a rebalance: the due times of this worker's partitions, from the wake-up
    prefix of each stored complaint (no state is decoded), and how many commands each
    partition holds for their registration (only those values are decoded)."""
    w.time_index.clear()
    w.held_counts.clear()
    policy = w.context.policy
    for complaint_id, raw in w.tables.complaints.items():
        if raw:
            w.time_index.schedule(complaint_id, stored.wake_of(raw, policy))
            partition, held = stored.held_count(raw)
            if held and partition is not None:
                w.held_counts[partition] = w.held_counts.get(partition, 0) + held
    w.index_needs_rebuild = False
    return len(w.time_index)


async def fire_due(w: Worker) -> int:
    """One round: a ClockTick for each complaint due by now; how many were sent."""
    if w.index_needs_rebuild:
        count = rebuild_index(w)
        log.info("time index rebuilt: %d complaint(s) with a pending deadline", count)
    now = w.clock.now()
    due = w.time_index.pop_due(now, limit=MAX_TICKS_PER_ROUND)
    pending = []
    for complaint_id, when in due:
        # In event time the tick happens at the due moment itself, so a replay decides
        # exactly as live time would have, however late this timer runs.
        at = when if w.clock.mode == "event" else now
        tick = ClockTick(event_id=derived_id(complaint_id, "tick", when.isoformat()),
                         complaint_id=complaint_id, occurred_at=at)
        pending.append(await w.send(w.topics.commands, complaint_id.encode(),
                                    tick.to_json()))
    await acknowledged(pending)
    return len(due)


def attach(w: Worker) -> None:
    async def fire_due_deadlines() -> None:
        await fire_due(w)

    w.app.timer(interval=w.settings.tick_interval_seconds,
                name="fire_due_deadlines")(fire_due_deadlines)
