"""Faust's own ceiling on this machine: a bare agent built with our worker's app settings.

`create_bare_app(settings)` is `agents.worker.create_app(settings)` (same store, commit
interval, stream_publish_on_commit, acks, partitions) under a distinct app id, with one
agent on a raw-bytes topic that, per event, writes one table entry (raw bytes, no codec)
and sends one message (raw bytes). With `with_table=False` it only sends. Nothing else:
no read frontier, no metrics sensor, no decoding. `bench.measure.bare_faust` runs it as a
child process (`python -m bench.ceiling worker`, settings from the environment like
`sankalp worker`) and measures it from outside, as the pipeline is measured.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from devstack.runners import WorkerProcess
from streams.settings import Settings
from streams.topics import TopicSpec

BARE_IN = TopicSpec(name="bench.bare.in", key="complaint_id",
                    carries="benchmark: input of the bare Faust agent (raw bytes)")
BARE_OUT = TopicSpec(name="bench.bare.out", key="complaint_id",
                     carries="benchmark: one message per input of the bare Faust agent")
# "0": the variant without the table (send only)
WITH_TABLE_ENV = "SANKALP_BENCH_BARE_TABLE"


def bare_app_id(settings: Settings) -> str:
    """The bare agent's app id (its consumer group and changelog prefix): distinct from
    the worker's, and starting with it so the bench's clean-up removes its changelog."""
    return f"{settings.app_id}-bare"


def create_bare_app(settings: Settings, with_table: bool = True) -> Any:
    from agents.worker import create_app  # imports Faust: only where a worker is built

    app = create_app(settings.with_overrides(app_id=bare_app_id(settings)))

    def raw(spec: TopicSpec) -> Any:
        return app.topic(settings.topic(spec.name), key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw",
                         partitions=spec.partitions_for(settings))

    source, out = raw(BARE_IN), raw(BARE_OUT)
    table = (app.Table("bare", default=None, partitions=settings.topic_partitions,
                       key_type=bytes, value_type=bytes) if with_table else None)

    async def bare(stream: Any) -> None:
        async for event in stream.events():
            if table is not None:
                table[event.key] = event.value
            await out.send(key=event.key, value=event.value)

    app.agent(source, name="bare")(bare)
    return app


class BareProcess(WorkerProcess):
    """`python -m bench.ceiling worker` as a child process (logs 'Worker ready' as ours)."""

    module = "bench.ceiling"

    def __init__(self, settings: Settings, log_file: Any, with_table: bool = True) -> None:
        super().__init__(settings, log_file,
                         extra_env={WITH_TABLE_ENV: "1" if with_table else "0"})


def main(argv: list[str]) -> int:
    if argv != ["worker"]:
        print("usage: python -m bench.ceiling worker   (settings from the environment)",
              file=sys.stderr)
        return 2
    from faust import Worker as FaustWorker

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    app = create_bare_app(settings, with_table=os.environ.get(WITH_TABLE_ENV, "1") != "0")
    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)
    FaustWorker(app, loglevel=settings.log_level).execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
