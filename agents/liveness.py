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

import time

from agents.offsets import seek
from agents.runtime import log, metrics
from streams.app import app, settings
from streams.failpoints import Failpoints
from streams.liveness import stalled
from streams.topics import COMPLAINTS_SUBMITTED, WORKER_INPUTS

INPUTS = {settings.topic(t.name): t.name for t in WORKER_INPUTS}
_progress: dict = {}  # tp -> (committed offset, since when unchanged with a backlog)
_failpoints = Failpoints.from_settings(settings)


@app.timer(interval=min(5.0, max(1.0, settings.stall_seconds / 3)))
async def unstick_partitions() -> None:
    consumer = getattr(app, "_consumer", None)
    if consumer is None or getattr(app, "in_recovery", False) or not consumer.flow_active:
        _progress.clear()
        return
    try:
        tps = [tp for tp in consumer.assignment() if tp.topic in INPUTS]
        ends = await consumer.highwaters(*tps) if tps else {}
    except Exception as exc:  # the broker may be away; the next look will tell
        log.debug("liveness check skipped: %s", exc)
        return
    submitted = sorted(tp for tp in tps if INPUTS[tp.topic] == COMPLAINTS_SUBMITTED.name)
    if submitted and _failpoints.should_crash("worker.pause_input"):
        # tests: the stall seen in the wild, made on purpose (a pause never lifted)
        log.warning("failpoint worker.pause_input: pausing %s[%d]", submitted[0].topic,
                    submitted[0].partition)
        consumer.pause_partitions({submitted[0]})
    now = time.monotonic()
    for tp in tps:
        committed = consumer._committed_offset.get(tp)
        stuck, remember = stalled(committed, ends.get(tp), _progress.get(tp), now,
                                  settings.stall_seconds)
        if remember is None:
            _progress.pop(tp, None)
            continue
        _progress[tp] = remember
        if stuck:
            log.warning("input %s[%d] has %d message(s) waiting and no progress for %.0f s: "
                        "resuming it from its committed offset %s", tp.topic, tp.partition,
                        ends[tp] - (committed or 0), now - remember[1], committed)
            metrics.partition_stalls.labels(INPUTS[tp.topic]).inc()
            consumer._buffered_partitions.discard(tp)
            consumer.resume_partitions({tp})
            await seek(tp, committed or 0)
            _progress[tp] = (committed, now)
