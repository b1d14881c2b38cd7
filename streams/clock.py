"""The pipeline's clock: wall time in production, event time in tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime


class WallClock:
    mode = "wall"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def observe(self, occurred_at: datetime) -> None:
        """Wall time does not follow the events."""


class EventTimeClock:
    """Now is the latest `occurred_at` this worker has seen (a watermark); it never goes
    back. Before any event it stands still at the epoch, so nothing fires early."""

    mode = "event"

    def __init__(self) -> None:
        self._now = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def observe(self, occurred_at: datetime) -> None:
        if occurred_at > self._now:
            self._now = occurred_at


def clock_for(mode: str) -> WallClock | EventTimeClock:
    return EventTimeClock() if mode == "event" else WallClock()
