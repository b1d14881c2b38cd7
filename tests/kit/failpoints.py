"""Fault injection for tests: crash a process at a named point in its code.

`SANKALP_FAILPOINTS` (read by the test kit's process entry, tests/kit/faulty.py, never by
the product) holds a comma-separated list such as `sink.before_commit=3`: the third time
the process passes the failpoint `sink.before_commit`, it kills itself with SIGKILL. A
real crash, not an exception: no `finally`, no flush, no commit, no goodbye to the
consumer group, which is exactly what a power cut or the OOM killer does, and what an
exception-based test double can never show.

Named failpoints (all wired in tests/kit/faulty.py, through hooks the product takes as
configuration: the sink's `before_commit`, the worker's `input_filter`, a timer):

    sink.before_commit   a batch's rows and its sink_offset rows are written in one
                         transaction that is not committed yet: SIGKILL
    worker.skip_input    the Nth input message is dropped unhandled (as Faust's stream does
                         to one it skips around a rebalance); the read frontier reads it again
    worker.pause_input   the first complaints.submitted partition is paused and never
                         resumed (the stall seen in the wild); the stall guard resumes it
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping

from streams.settings import SettingsError

log = logging.getLogger("sankalp.failpoints")

ENV_NAME = "SANKALP_FAILPOINTS"


def parse(spec: str) -> dict[str, int]:
    """`"a=3, b=1"` -> `{"a": 3, "b": 1}`; a malformed spec is a settings error, so a typo in
    a test's environment fails loudly instead of silently never crashing."""
    limits: dict[str, int] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, count = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise SettingsError(f"{ENV_NAME}: {item!r} is not name=N (e.g. sink.before_commit=3)")
        try:
            nth = int(count)
        except ValueError:
            raise SettingsError(
                f"{ENV_NAME}: {item!r}: N must be a whole number of hits, got {count!r}"
            ) from None
        if nth < 1:
            raise SettingsError(f"{ENV_NAME}: {item!r}: N counts hits from 1")
        if name in limits:
            raise SettingsError(f"{ENV_NAME}: {name!r} is given twice")
        limits[name] = nth
    return limits


class Failpoints:
    """The failpoints of one process: how often each was passed, and when it must crash."""

    def __init__(self, limits: Mapping[str, int] | None = None) -> None:
        self._limits = dict(limits or {})
        self._hits: dict[str, int] = {}

    @classmethod
    def from_spec(cls, spec: str) -> Failpoints:
        return cls(parse(spec))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Failpoints:
        return cls.from_spec((os.environ if env is None else env).get(ENV_NAME, ""))

    @property
    def armed(self) -> dict[str, int]:
        return dict(self._limits)

    def hits(self, name: str) -> int:
        return self._hits.get(name, 0)

    def should_crash(self, name: str) -> bool:
        """Count one pass through `name`; True when this pass is the one to crash on.
        (Separate from `hit` so the counting can be tested without killing the test.)"""
        nth = self._limits.get(name)
        if nth is None:
            return False
        hits = self._hits.get(name, 0) + 1
        self._hits[name] = hits
        return hits == nth

    def hit(self, name: str) -> None:
        """Pass the failpoint `name`; on its Nth pass, SIGKILL this process."""
        if not self._limits:  # the production case: nothing armed, nothing counted
            return
        if self.should_crash(name):
            # Logged first: a test reads this line to tell an injected crash from a real one.
            log.warning("failpoint %s reached (hit %d): killing this process", name,
                        self._hits[name])
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
