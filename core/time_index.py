"""Which complaints are due by a given moment, without scanning every open complaint.

A heap of (when, key) with lazy deletion: rescheduling a key leaves its old entry in the
heap, and `pop_due` skips entries that no longer match the key's current time. Pure; the
worker rebuilds it from the changelog-backed deadline table after every rebalance.
"""

from __future__ import annotations

import heapq
from datetime import datetime


class TimeIndex:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._current: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._current)

    def schedule(self, key: str, when: datetime | None) -> None:
        """Set (or with None, clear) the one wake-up time of `key`."""
        if when is None:
            self._current.pop(key, None)
            return
        if self._current.get(key) == when:
            return
        self._current[key] = when
        heapq.heappush(self._heap, (when, key))
        # Stale entries pile up when keys are rescheduled often; compact now and then.
        if len(self._heap) > 4 * len(self._current) + 1024:
            self._heap = [(w, k) for k, w in self._current.items()]
            heapq.heapify(self._heap)

    def when(self, key: str) -> datetime | None:
        return self._current.get(key)

    def next_due(self) -> datetime | None:
        while self._heap and self._current.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: datetime, limit: int | None = None) -> list[tuple[str, datetime]]:
        """Remove and return every (key, when) due at or before `now`, earliest first."""
        out: list[tuple[str, datetime]] = []
        while self._heap and (limit is None or len(out) < limit):
            when, key = self._heap[0]
            if self._current.get(key) != when:
                heapq.heappop(self._heap)
                continue
            if when > now:
                break
            heapq.heappop(self._heap)
            del self._current[key]
            out.append((key, when))
        return out

    def clear(self) -> None:
        self._heap.clear()
        self._current.clear()
