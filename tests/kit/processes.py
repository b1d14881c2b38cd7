"""The product's worker and sink as child processes with failpoints armed: the runners of
devstack/runners.py, running `python -m kit.faulty` (tests/kit/faulty.py) instead of the
product's command line, with SANKALP_FAILPOINTS set (tests/kit/failpoints.py)."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.runners import SinkProcess, WorkerProcess
from kit.failpoints import ENV_NAME, parse
from kit.settings import REPO, TESTS
from streams.settings import Settings


def kit_env(failpoints: str) -> dict[str, str]:
    """The environment of a child that runs the kit: the failpoints, and a PYTHONPATH that
    finds the product (the repository root) and the kit (tests/)."""
    parse(failpoints)  # a typo fails here, in the test, not unnoticed in the child
    path = [str(REPO), str(TESTS), *filter(None, os.environ.get("PYTHONPATH", "").split(
        os.pathsep))]
    return {ENV_NAME: failpoints, "PYTHONPATH": os.pathsep.join(path)}


class _Faulty:
    module = "kit.faulty"

    def __init__(self, settings: Settings, log_file: Path, failpoints: str,
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(settings, log_file,  # type: ignore[call-arg]
                         {**kit_env(failpoints), **(extra_env or {})})
        self.failpoints = failpoints


class FaultyWorker(_Faulty, WorkerProcess):
    """`sankalp worker` with failpoints, e.g. `FaultyWorker(s, log, "worker.skip_input=3")`."""


class FaultySink(_Faulty, SinkProcess):
    """`sankalp sink` with failpoints, e.g. `FaultySink(s, log, "sink.before_commit=2")`."""
