"""`python -m kit.faulty worker|sink`: the product's worker or sink, built by its own
factory, with the failpoints of SANKALP_FAILPOINTS wired in through the hooks the product
takes as configuration (tests/kit/failpoints.py lists them). Nothing of this runs in
production: the product has no failpoint branch of its own."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator

from kit.failpoints import Failpoints
from streams.settings import Settings, SettingsError
from streams.topics import COMPLAINTS_SUBMITTED

log = logging.getLogger("sankalp.failpoints")


def skipping(points: Failpoints):
    """An input filter that drops the Nth message unhandled (worker.skip_input=N)."""

    async def input_filter(events: AsyncIterator, name: str) -> AsyncIterator:
        async for event in events:
            if points.should_crash("worker.skip_input"):
                message = event.message
                log.warning("failpoint worker.skip_input: dropping %s[%d]@%d", message.topic,
                            message.partition, message.offset)
                continue
            yield event

    return input_filter


def run_worker(settings: Settings, points: Failpoints) -> int:
    from agents.factory import create_worker, run_worker

    armed = points.armed
    worker = create_worker(settings,
                           input_filter=skipping(points) if "worker.skip_input" in armed
                           else None)
    if "worker.pause_input" in armed:
        submitted = settings.topic(COMPLAINTS_SUBMITTED.name)

        async def pause_input() -> None:
            consumer = worker.app.consumer
            tps = sorted(tp for tp in consumer.assignment() if tp.topic == submitted)
            if tps and points.should_crash("worker.pause_input"):
                log.warning("failpoint worker.pause_input: pausing %s[%d]", tps[0].topic,
                            tps[0].partition)
                consumer.pause_partitions({tps[0]})

        worker.app.timer(interval=1.0, name="failpoint_pause_input")(pause_input)
    return run_worker(worker)


def run_sink(settings: Settings, points: Failpoints) -> int:
    from sinks.postgres_sink import PostgresSink, run_sink

    return run_sink(PostgresSink(settings,
                                 before_commit=lambda: points.hit("sink.before_commit")))


def main(argv: list[str]) -> int:
    try:
        settings = Settings.from_env()
        points = Failpoints.from_env()
    except SettingsError as exc:
        print(f"kit.faulty: {exc}", file=sys.stderr)
        return 2
    if argv[1:] == ["worker"]:
        return run_worker(settings, points)
    if argv[1:] == ["sink"]:
        return run_sink(settings, points)
    print("usage: python -m kit.faulty worker|sink", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
