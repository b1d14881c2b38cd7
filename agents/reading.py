"""The worker's side of the read frontier (streams/frontier.py): every input message goes
through `InputReader.in_order`, and Faust may commit no further than the frontier.

Why: Faust acknowledges messages its streams skip (stale ones around a rebalance) and
takes jumps in the offsets for gaps to commit past; either way its commit can pass a
message no agent handled, and that message is lost with no error anywhere. Our input
topics are neither compacted nor transactional, so their offsets have no gaps: a jump
always means a missed read. The agent then reads again from the first offset it has not
handled (with a warning and `sankalp_worker_offset_jumps_total`, once per missed offset),
and Faust's commit is held at that offset until it has (agents/faust_adapter.py caps it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from sinks.metrics import Metrics
from streams.frontier import Frontier, Verdict

log = logging.getLogger("sankalp")


class InputReader:
    """The read frontier of one worker's guarded input topics.

    `consumer` is the worker's `ConsumerAccess` (agents/faust_adapter.py) or, in unit
    tests, anything with the same four coroutines/methods: committed_offset,
    broker_committed, log_start, seek (and cap_commits).
    """

    def __init__(self, consumer: Any, metrics: Metrics) -> None:
        self.consumer = consumer
        self.metrics = metrics
        self.frontier = Frontier()
        self.guarded: set[str] = set()  # topics whose commits the frontier holds
        self._reported: dict = {}  # tp -> the expected offset last reported missing

    def cap(self, tp: Any, proposed: int | None) -> int | None:
        """What Faust may commit for `tp`: no further than the frontier on a guarded topic."""
        if tp.topic not in self.guarded:
            return proposed
        return self.frontier.clamp(tp, proposed)

    def forget(self) -> None:
        """After a rebalance the frontier starts again from the committed offsets."""
        self.frontier.forget()
        self._reported.clear()

    async def seek(self, tp: Any, offset: int) -> None:
        try:
            await self.consumer.seek(tp, offset)
        except Exception as exc:  # e.g. no longer assigned: the new owner starts from the commit
            log.warning("input %s[%d]: could not seek to %d (%s)", tp.topic, tp.partition,
                        offset, exc)

    async def _resume_point(self, tp: Any) -> tuple[int, str]:
        """The group's committed offset for `tp`, else the log start. After a restart the
        agents get messages before Faust has finished seeking to the committed offsets, so
        its copy of them can still be empty: the broker is asked before falling back to the
        log start, which would reprocess the whole partition."""
        committed = self.consumer.committed_offset(tp)
        if committed is not None:
            return committed, "committed"
        try:
            committed = await self.consumer.broker_committed(tp)
        except Exception as exc:  # the log start is a safe (if slower) answer
            log.warning("input %s[%d]: committed offset not read (%s)", tp.topic,
                        tp.partition, exc)
        if committed is not None:
            return committed, "committed (asked the broker again)"
        return await self.consumer.log_start(tp), "log start: nothing committed"

    async def _missed(self, tp: Any, offset: int, name: str) -> Verdict:
        """First sight of a missed offset: unless retention has removed it (then start at
        the log start), report it; the verdict on `offset` afterwards."""
        frontier = self.frontier
        start = await self.consumer.log_start(tp)
        if frontier.next(tp) < start:
            # what was missed has left the log (retention): nothing to read again
            log.error("input %s[%d]: offsets %d..%d were removed by retention before they "
                      "were read", tp.topic, tp.partition, frontier.next(tp), start - 1)
            frontier.start(tp, start)
        verdict = frontier.judge(tp, offset)
        if verdict is Verdict.JUMP:
            self._reported[tp] = frontier.next(tp)
            log.warning("input %s[%d]: offset %d arrived while %d was expected (the consumer "
                        "skipped messages); reading again from %d", tp.topic, tp.partition,
                        offset, frontier.next(tp), frontier.next(tp))
            self.metrics.offset_jumps.labels(name).inc()
        return verdict

    async def in_order(self, events: AsyncIterator, topic: str, name: str) -> AsyncIterator:
        """The events of the input `topic` (its physical name; `name` is the logical one,
        for the metric), each offset once and in order since the partition was assigned;
        a repeat of one already handled is skipped."""
        # Registered when the agent starts, before any assignment: acks Faust makes for
        # messages it skips before the agent's first one must not be committed either.
        self.guarded.add(topic)
        self.consumer.cap_commits(self.cap)
        frontier = self.frontier
        async for event in events:
            message = event.message
            tp = message.tp
            if not frontier.known(tp):
                start, source = await self._resume_point(tp)
                frontier.start(tp, start)
                log.info("input %s[%d]: reading from offset %d (%s; first arrival %d)",
                         tp.topic, tp.partition, start, source, message.offset)
            verdict = frontier.judge(tp, message.offset)
            if verdict is Verdict.JUMP and self._reported.get(tp) != frontier.next(tp):
                verdict = await self._missed(tp, message.offset, name)  # once per offset
            if verdict is Verdict.JUMP:
                # Again for every early arrival: Faust's fetch loop may still hand over
                # messages it fetched before the seek, and each moves its read position
                # past the offset we want (it would then drop that offset as already read).
                await self.seek(tp, frontier.next(tp))
                continue
            if verdict is Verdict.REPEAT:
                continue
            yield event
            frontier.processed(tp, message.offset)
