"""The worker factory: `create_worker(settings)` builds one worker (agents/worker.py) and
attaches every agent and timer to it; `run_worker(worker)` runs it.

Configuration is passed in, side effects happen when the worker runs (pyeventsourcing's
`Application(env=...)` is the model): the CLI, the tests, the bench and the demo build
workers the same way, and unit tests build one on Faust's in-memory tables.
"""

from __future__ import annotations

import logging
from typing import Any

from agents import deadlines, intake, lifecycle, liveness, smoke
from agents.worker import InputFilter, Worker
from streams.settings import Settings

log = logging.getLogger("sankalp")


def create_worker(settings: Settings, *, input_filter: InputFilter | None = None,
                  consumer: Any = None, with_smoke: bool = True) -> Worker:
    """A worker with every agent and timer attached. `input_filter` and `consumer` are for
    tests (drop an input message unhandled; a stand-in for the Faust consumer)."""
    worker = Worker(settings, input_filter=input_filter, consumer=consumer)
    intake.attach(worker)
    lifecycle.attach(worker)
    deadlines.attach(worker)
    liveness.attach(worker)
    if with_smoke:
        smoke.attach(worker)
    return worker


def input_topics(worker: Worker) -> list[str]:
    """Every topic the worker's agents consume (what must exist before it starts)."""
    return sorted({topic for agent in worker.app.agents.values()
                   for topic in getattr(agent.channel, "topics", ())})


def run_worker(worker: Worker) -> int:
    """Run the worker until it is stopped: wait for Kafka and the input topics, check the
    installed Faust, then hand over to Faust's worker (logging, signals, recovery)."""
    from faust import Worker as FaustWorker

    from agents.faust_adapter import FaustIncompatible, check_faust
    from streams.kafka_wait import wait_for_kafka_or_give_up

    settings = worker.settings
    # Faust sets up logging only when it starts; until then our lines (the wait for Kafka)
    # go to stderr in its format. Its own set-up replaces this handler, so nothing doubles.
    logging.basicConfig(level=settings.log_level.upper(),
                        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    try:
        check_faust()
    except FaustIncompatible as exc:
        log.error("%s", exc)
        return 3
    if not wait_for_kafka_or_give_up(settings, input_topics(worker), "this worker"):
        return 2
    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)
    FaustWorker(worker.app, loglevel=settings.log_level).execute_from_commandline()
    return 0
