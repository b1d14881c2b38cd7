"""The one place that touches faust-streaming's and aiokafka's private internals.

Faust has no public hook for what a worker may commit, nor an accessor for the offsets it
last committed; the read frontier (streams/frontier.py, agents/reading.py) needs both,
because faust-streaming can commit past a message no agent handled. Every private name
the project uses is listed here, with why; nothing outside this module touches one (a unit
test checks it), and tests/unit/test_faust_adapter.py pins the behaviour each one is
relied on for, so a faust-streaming upgrade that changes it fails a unit test.

Private names used, and why:

- ``Consumer._new_offset(tp)`` (faust.transport.consumer): the one method that decides
  how far Faust commits a partition. It returns the end of the first run of consecutive
  acknowledged offsets; an offset jump counts as a gap it may commit past, and its check
  against the committed offset is off by one. faust-streaming acknowledges messages its
  streams skip around a rebalance (no agent handled them), so its commit could pass a
  lost message. We wrap it on this worker's consumer instance (not for the class) and cap
  what it proposes at the read frontier. faust-streaming's tracker has the defects
  behind this: #216 (after recovery the stream resumes before seeking to the committed
  offsets: a gap), #221 and its fix #223 (events fetched before a rebalance are skipped,
  and skipped events are acknowledged), #318 (the commit offset arithmetic around
  `batch[-1] + 1` and the committed-offset check).
  The wrapper drops nothing: an acknowledgement above the frontier stays out of the
  commit only because the frontier reads that message again (``seek``) and acknowledges
  it once more when an agent has handled it.
- ``Consumer._committed_offset`` (dict tp -> offset): the offsets Faust last committed.
  The frontier starts a partition there; the outbox keeps what was sent since.
- ``Consumer._thread`` / ``AIOKafkaConsumerThread._ensure_consumer()`` /
  ``call_thread``: aiokafka's consumer runs on its own thread and event loop. After a
  restart agents get messages before Faust has read the committed offsets, so the
  frontier asks the broker itself, on that thread.
- ``Consumer._buffered_partitions`` (set): partitions Faust paused because their buffer
  was full. The stall guard (agents/liveness.py) takes a partition out of it before
  resuming one that stayed paused for good (a pause Faust never lifted).
- ``App._consumer``: the consumer if Faust has built it (``app.consumer`` would build one).
- ``_acked``, ``_acked_index``, ``_gap``: the consumer state ``_new_offset`` reads; only
  set on a bare copy (``faust_commit_for``) to pin what ``_new_offset`` proposes.

Tested with faust-streaming >=0.15,<0.16 (the pin in pyproject.toml says the same). Before
upgrading: run tests/unit/test_faust_adapter.py and the fault tests (tests/integration/
test_faults.py, test_read_frontier.py, test_stall_guard.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, ensure_aiokafka_TP
from intervaltree import IntervalTree

log = logging.getLogger("sankalp")

TESTED_FAUST = (0, 15)  # major, minor the adapter is written and tested against

# Every private attribute or method of Faust and aiokafka that the project touches.
PRIVATE_NAMES = ("_new_offset", "_committed_offset", "_thread", "_ensure_consumer",
                 "_buffered_partitions", "_consumer", "_acked", "_acked_index", "_gap")

# (tp, offset Faust proposes to commit) -> the offset that may be committed (None: none)
CommitCap = Callable[[Any, int | None], int | None]


class FaustIncompatible(RuntimeError):
    """The installed faust-streaming lacks what this adapter relies on."""


def faust_commit_for(acked: list[int], committed: int | None) -> int | None:
    """What Faust's own `_new_offset` proposes to commit for a partition whose handled
    (acknowledged) offsets are `acked` and whose last commit is `committed`: run on a bare
    copy of the consumer state it reads. The start-up check and the contract tests use it
    to pin the behaviour the commit cap is built on."""
    tp = ("contract", 0)
    state = SimpleNamespace(
        _acked=defaultdict(list, {tp: list(acked)}),
        _acked_index=defaultdict(set, {tp: set(acked)}),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {tp: committed}),
    )
    return faust_commit_proposal(state, tp)


# (acked, committed) -> what Faust proposes; the behaviour the read frontier guards against
COMMIT_CONTRACT: tuple[tuple[list[int], int | None, int | None], ...] = (
    ([3, 4, 5], 3, 6),  # a run from the committed offset: its end
    ([3, 4, 7, 8], 3, 5),  # only the first consecutive run
    ([5, 6], 3, None),  # a gap of two or more at the head: nothing
    ([4, 5], 3, 6),  # off by one: offset 3 was never handled, yet it commits past it
    ([7, 8], None, 9),  # nothing committed yet: it commits past whatever came before
)


def check_faust() -> None:
    """Fail loudly at start-up, not with a lost message later, if the installed Faust is
    not the one the adapter was written for."""
    installed = version("faust-streaming")
    parts = tuple(int(p) for p in installed.split(".")[:2] if p.isdigit())
    problems = []
    if parts != TESTED_FAUST:
        problems.append(f"faust-streaming {installed} is installed; the adapter is tested "
                        f"with {TESTED_FAUST[0]}.{TESTED_FAUST[1]}.x")
    if not callable(getattr(AIOKafkaConsumerThread, "_ensure_consumer", None)):
        problems.append("AIOKafkaConsumerThread._ensure_consumer is gone")
    if not callable(getattr(FaustConsumer, "_new_offset", None)):
        problems.append("Consumer._new_offset is gone (the commit cap wraps it)")
    else:
        for acked, committed, expected in COMMIT_CONTRACT:
            try:
                got = faust_commit_for(acked, committed)
            except Exception as exc:
                got = f"an error ({type(exc).__name__}: {exc})"
            if got != expected:
                problems.append(f"Consumer._new_offset proposes {got} for acks {acked} "
                                f"after commit {committed}, expected {expected}")
                break
    if problems:
        raise FaustIncompatible(
            "faust-streaming is not compatible with agents/faust_adapter.py: "
            + "; ".join(problems)
            + ". Install the pinned version (pip install -e .) or update the adapter.")


def faust_commit_proposal(consumer: Any, tp: Any) -> int | None:
    """What Faust's own `_new_offset` proposes for `tp` (it also consumes the acks it
    commits). Here for the contract tests and the cap's wrapper."""
    return FaustConsumer._new_offset(consumer, tp)


class ConsumerAccess:
    """What the worker needs from the consumer of one Faust app, public or not."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._cap: CommitCap | None = None
        self._capped: Any = None  # the consumer instance the cap is installed on

    def _built_consumer(self) -> Any:
        return getattr(self.app, "_consumer", None)

    # --- offsets ----------------------------------------------------------------------
    def committed_offset(self, tp: Any) -> int | None:
        """The offset Faust last committed for `tp` (None before the first commit)."""
        consumer = self._built_consumer()
        offsets = getattr(consumer, "_committed_offset", None) if consumer else None
        return offsets.get(tp) if offsets is not None else None

    async def broker_committed(self, tp: Any) -> int | None:
        """The group's committed offset for `tp`, asked of the broker on the consumer's own
        thread (aiokafka's consumer lives on that thread's event loop)."""
        thread = self.app.consumer._thread
        return await thread.call_thread(thread._ensure_consumer().committed,
                                        ensure_aiokafka_TP(tp))

    async def log_start(self, tp: Any) -> int:
        return (await self.app.consumer.earliest_offsets(tp)).get(tp, 0)

    async def seek(self, tp: Any, offset: int) -> None:
        """On the consumer's own thread (`seek_wait`): a seek from the agents' thread raced
        aiokafka's fetcher and crashed it (KeyError in fetched_records)."""
        await self.app.consumer.seek_wait({tp: offset})

    # --- the commit cap ---------------------------------------------------------------
    def cap_commits(self, cap: CommitCap) -> None:
        """From now on Faust commits no further than `cap` allows. Installed on this app's
        consumer instance (other apps in the process are untouched)."""
        self._cap = cap
        consumer = self.app.consumer
        if self._capped is consumer:
            return
        if not hasattr(consumer, "_committed_offset"):
            raise FaustIncompatible("the Faust consumer has no _committed_offset; "
                                    "agents/faust_adapter.py needs updating")

        def new_offset(tp: Any) -> int | None:
            proposed = faust_commit_proposal(consumer, tp)
            return self._cap(tp, proposed) if self._cap is not None else proposed

        consumer._new_offset = new_offset
        self._capped = consumer

    # --- liveness ---------------------------------------------------------------------
    def consuming(self) -> Any:
        """The consumer while it is flowing and not recovering, else None."""
        consumer = self._built_consumer()
        if consumer is None or getattr(self.app, "in_recovery", False):
            return None
        return consumer if consumer.flow_active else None

    def release_pause(self, tp: Any) -> None:
        """Forget that Faust paused `tp` for a full buffer, so resuming it sticks."""
        consumer = self._built_consumer()
        if consumer is not None:
            consumer._buffered_partitions.discard(tp)
