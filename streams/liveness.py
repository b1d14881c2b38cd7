"""When an input partition counts as stalled (pure; the worker's check is in
agents/liveness.py)."""

from __future__ import annotations


def stalled(committed: int | None, end: int | None, last: tuple | None, now: float,
            after: float) -> tuple[bool, tuple | None]:
    """Pure: whether a partition is stalled, and what to remember for the next look."""
    position = committed or 0
    if end is None or end <= position:
        return False, None  # nothing waiting
    if last is None or last[0] != committed:
        return False, (committed, now)
    return now - last[1] >= after, last
