"""A partition that has messages waiting but makes no progress gets unstuck.

In the fault tests a worker restarted mid-burst once kept one input partition unread for
good (assigned, nothing consumed, nothing committed) while its other partitions flowed:
a pause inside Faust's consumer that was never lifted. Nothing would be lost, but those
complaints would wait for ever. So every few seconds the worker compares each input
partition's committed offset with the end of the log; one with a backlog and no commit
for SANKALP_STALL_SECONDS is resumed and sought back to its committed offset (what it
reads again is absorbed: every effect is idempotent), with a warning and a counter.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from streams.liveness import stalled
from streams.topics import WORKER_INPUTS

if TYPE_CHECKING:
    from agents.worker import Worker

log = logging.getLogger("sankalp")


class StallGuard:
    def __init__(self, w: Worker) -> None:
        self.w = w
        self.inputs = {w.settings.topic(t.name): t.name for t in WORKER_INPUTS}
        self.progress: dict = {}  # tp -> (committed offset, since when unchanged, backlog)

    async def check(self) -> None:
        w = self.w
        consumer = w.consumer.consuming()
        if consumer is None:
            self.progress.clear()
            return
        try:
            tps = [tp for tp in consumer.assignment() if tp.topic in self.inputs]
            ends = await consumer.highwaters(*tps) if tps else {}
        except Exception as exc:  # the broker may be away; the next look will tell
            log.debug("liveness check skipped: %s", exc)
            return
        now = time.monotonic()
        for tp in tps:
            committed = w.consumer.committed_offset(tp)
            stuck, remember = stalled(committed, ends.get(tp), self.progress.get(tp), now,
                                      w.settings.stall_seconds)
            if remember is None:
                self.progress.pop(tp, None)
                continue
            self.progress[tp] = remember
            if stuck:
                await self._unstick(consumer, tp, committed, ends[tp], now - remember[1])
                self.progress[tp] = (committed, now)

    async def _unstick(self, consumer: Any, tp: Any, committed: int | None, end: int,
                       idle: float) -> None:
        log.warning("input %s[%d] has %d message(s) waiting and no progress for %.0f s: "
                    "resuming it from its committed offset %s", tp.topic, tp.partition,
                    end - (committed or 0), idle, committed)
        self.w.metrics.partition_stalls.labels(self.inputs[tp.topic]).inc()
        self.w.consumer.release_pause(tp)
        consumer.resume_partitions({tp})
        await self.w.reader.seek(tp, committed or 0)


def attach(w: Worker) -> None:
    guard = StallGuard(w)

    async def unstick_partitions() -> None:
        await guard.check()

    w.app.timer(interval=min(5.0, max(1.0, w.settings.stall_seconds / 3)),
                name="unstick_partitions")(unstick_partitions)
