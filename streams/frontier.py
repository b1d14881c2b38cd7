"""How far an agent has really read each input partition (pure; the worker's side is in
agents/reading.py).

Faust decides what to commit from the offsets its streams acknowledged, and it
acknowledges some messages the agent never saw: one skipped as stale while a rebalance
settles, a range it takes for a compaction gap. Its commit then moves past a message
no agent processed, and a registration is lost without a trace (the kill fault test
found one). The frontier is the agent's own account: per partition, the next offset it
must process. Nothing at or beyond it may be committed, and a message beyond it means
the consumer skipped something, which must be read again before going on.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum


class Verdict(Enum):
    PROCESS = "process"  # the next offset: handle it
    REPEAT = "repeat"  # already handled since the partition was assigned: skip it
    JUMP = "jump"  # something before it was never handled: read again from `next`


class Frontier:
    def __init__(self) -> None:
        self._next: dict[Hashable, int] = {}

    def known(self, tp: Hashable) -> bool:
        return tp in self._next

    def start(self, tp: Hashable, offset: int) -> None:
        """Where the partition resumes: its committed offset, or the log start if none."""
        self._next[tp] = offset

    def next(self, tp: Hashable) -> int:
        return self._next[tp]

    def judge(self, tp: Hashable, offset: int) -> Verdict:
        expected = self._next[tp]
        if offset == expected:
            return Verdict.PROCESS
        return Verdict.REPEAT if offset < expected else Verdict.JUMP

    def processed(self, tp: Hashable, offset: int) -> None:
        if offset == self._next.get(tp):
            self._next[tp] = offset + 1

    def clamp(self, tp: Hashable, proposed: int | None) -> int | None:
        """The offset that may be committed instead of `proposed`: never past the frontier,
        and nothing at all for a partition not read since it was assigned."""
        if proposed is None:
            return None
        if tp not in self._next:
            return None
        return min(proposed, self._next[tp])

    def forget(self) -> None:
        """After a rebalance every partition starts again from its committed offset."""
        self._next.clear()
