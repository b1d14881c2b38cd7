"""The worker's side of the read frontier (streams/frontier.py): every input message goes
through `in_order`, and Faust may commit no further than the frontier.

Why: Faust acknowledges messages its streams skip (stale ones around a rebalance) and
takes jumps in the offsets for gaps to commit past; either way its commit can pass a
message no agent handled, and that message is lost with no error anywhere. Our input
topics are neither compacted nor transactional, so their offsets have no gaps: a jump
always means a missed read. The agent then reads again from the first offset it has not
handled (with a warning and `sankalp_worker_offset_jumps_total`, once per missed offset),
and Faust's commit is held at that offset until it has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.transport.drivers.aiokafka import ensure_aiokafka_TP

from agents.runtime import committed_offset, log, metrics
from streams.app import app, settings
from streams.failpoints import Failpoints
from streams.frontier import Frontier, Verdict

frontier = Frontier()
_guarded: set[str] = set()  # topics whose commits the frontier holds
_reported: dict = {}  # tp -> the expected offset last reported missing
_failpoints = Failpoints.from_settings(settings)


def _new_offset(consumer, tp):
    proposed = _faust_new_offset(consumer, tp)
    if tp.topic not in _guarded:
        return proposed
    return frontier.clamp(tp, proposed)


# Faust has no hook for what it may commit; this one method decides it (see why above).
_faust_new_offset = AIOKafkaConsumer._new_offset
AIOKafkaConsumer._new_offset = _new_offset


@app.on_partitions_revoked.connect
async def _forget_on_revoke(sender, revoked, **kwargs) -> None:
    frontier.forget()
    _reported.clear()


@app.on_partitions_assigned.connect
async def _forget_on_assign(sender, assigned, **kwargs) -> None:
    frontier.forget()
    _reported.clear()


async def seek(tp, offset: int) -> None:
    """Move the consumer of `tp` back to `offset`. It must happen on the consumer's own
    thread (`seek_wait`): a seek from the agents' thread raced the fetcher there and
    crashed it (KeyError in aiokafka's fetched_records) in the overlapping-rebalance test."""
    try:
        await app.consumer.seek_wait({tp: offset})
    except Exception as exc:  # e.g. no longer assigned: the new owner starts from the commit
        log.warning("input %s[%d]: could not seek to %d (%s)", tp.topic, tp.partition,
                    offset, exc)


async def _log_start(tp) -> int:
    return (await app.consumer.earliest_offsets(tp)).get(tp, 0)


async def _resume_point(tp) -> tuple[int, str]:
    """The group's committed offset for `tp`, else the log start. After a restart the
    agents get messages before Faust has finished seeking to the committed offsets, so its
    copy of them can still be empty: the broker is asked before falling back to the log
    start, which would reprocess the whole partition."""
    committed = committed_offset(tp)
    if committed is not None:
        return committed, "committed"
    thread = app.consumer._thread  # the aiokafka consumer runs on its own event loop
    try:
        committed = await thread.call_thread(thread._ensure_consumer().committed,
                                             ensure_aiokafka_TP(tp))
    except Exception as exc:  # the log start is a safe (if slower) answer
        log.warning("input %s[%d]: committed offset not read (%s)", tp.topic, tp.partition,
                    exc)
    if committed is not None:
        return committed, "committed (asked the broker again)"
    return await _log_start(tp), "log start: nothing committed"


async def _missed(tp, offset: int, name: str) -> Verdict:
    """First sight of a missed offset: unless retention has removed it (then start at the
    log start), report it; the verdict on `offset` afterwards."""
    start = await _log_start(tp)
    if frontier.next(tp) < start:
        # what was missed has left the log (retention): nothing to read again
        log.error("input %s[%d]: offsets %d..%d were removed by retention before they were "
                  "read", tp.topic, tp.partition, frontier.next(tp), start - 1)
        frontier.start(tp, start)
    verdict = frontier.judge(tp, offset)
    if verdict is Verdict.JUMP:
        _reported[tp] = frontier.next(tp)
        log.warning("input %s[%d]: offset %d arrived while %d was expected (the consumer "
                    "skipped messages); reading again from %d", tp.topic, tp.partition,
                    offset, frontier.next(tp), frontier.next(tp))
        metrics.offset_jumps.labels(name).inc()
    return verdict


async def in_order(events: AsyncIterator, name: str) -> AsyncIterator:
    """The events of a guarded input, each offset once and in order since the partition
    was assigned; a repeat of one already handled is skipped."""
    # Registered when the agent starts, before any assignment: acks Faust makes for
    # messages it skips before the agent's first one must not be committed either.
    _guarded.add(settings.topic(name))
    async for event in events:
        message = event.message
        tp = message.tp
        if not frontier.known(tp):
            start, source = await _resume_point(tp)
            frontier.start(tp, start)
            log.info("input %s[%d]: reading from offset %d (%s; first arrival %d)", tp.topic,
                     tp.partition, start, source, message.offset)
        verdict = frontier.judge(tp, message.offset)
        if _failpoints.should_crash("worker.skip_input") and verdict is Verdict.PROCESS:
            # tests: what Faust does to a message its stream skips -- never handled, acked
            log.warning("failpoint worker.skip_input: dropping %s[%d]@%d", tp.topic,
                        tp.partition, message.offset)
            continue
        if verdict is Verdict.JUMP and _reported.get(tp) != frontier.next(tp):
            verdict = await _missed(tp, message.offset, name)  # once per missed offset
        if verdict is Verdict.JUMP:
            # Again for every early arrival: Faust's fetch loop may still hand over messages
            # it fetched before the seek, and each moves its read position past the offset
            # we want (it would then drop that offset as already read).
            await seek(tp, frontier.next(tp))
            continue
        if verdict is Verdict.REPEAT:
            continue
        yield event
        frontier.processed(tp, message.offset)
