"""Working days and calling hours in Asia/Kolkata.

Time limits count working days: weekly offs and gazetted holidays do not count. A limit
of N working days from a moment ends at the same local time of day on the N-th working
day after it; a complaint registered on a day off starts counting from the next working
day's first minute.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
SUNDAY = 6


@dataclass(frozen=True)
class WorkingCalendar:
    weekly_offs: frozenset[int] = frozenset({SUNDAY})  # Monday=0 ... Sunday=6
    holidays: frozenset[date] = field(default_factory=frozenset)
    tz: ZoneInfo = IST
    calling_start: time = time(7, 0)
    calling_end: time = time(22, 0)

    @classmethod
    def with_holidays(cls, holidays: Iterable[date], weekly_offs: Iterable[int] = (SUNDAY,)
                      ) -> WorkingCalendar:
        return cls(weekly_offs=frozenset(weekly_offs), holidays=frozenset(holidays))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekly_offs and day not in self.holidays

    def _counting_start(self, start: datetime) -> datetime:
        """Where counting begins, in local time: `start` itself on a working day, else
        midnight of the next working day."""
        if len(self.weekly_offs) >= 7:
            raise ValueError("a calendar with no working weekday cannot count working days")
        local = start.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            day = local.date()
            while not self.is_working_day(day):
                day += timedelta(days=1)
            local = datetime.combine(day, time(0, 0), self.tz)
        return local

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start` (aware datetime in, UTC out)."""
        if days < 0:
            raise ValueError("days must not be negative")
        local = self._counting_start(start)
        day = _nth_working_day_after(self, local.date(), days)
        due = datetime.combine(day, local.timetz().replace(tzinfo=None), self.tz)
        return due.astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from `start` to `end`, counted the way add_working_days counts
        them: the largest n with add_working_days(start, n) <= end (0 if end comes first).
        So a complaint that lapses at its due moment has held exactly its limit."""
        local = self._counting_start(start)
        time_of_day = local.timetz().replace(tzinfo=None)
        first, last = local.date(), end.astimezone(self.tz).date()
        if last <= first:
            return 0
        # Every working day before the last counts whole (its hour is long past at `end`);
        # the last counts once its hour has come. Counted by weeks, not day by day: a
        # complaint overdue at the state level is re-counted at every daily reminder.
        counted = self._working_days_after(first, last - timedelta(days=1))
        if (self.is_working_day(last)
                and datetime.combine(last, time_of_day, self.tz) <= end):
            counted += 1
        return counted

    def _working_days_after(self, after: date, through: date) -> int:
        """How many working days d there are with after < d <= through."""
        span = (through - after).days
        if span <= 0:
            return 0
        weeks, rest = divmod(span, 7)
        counted = weeks * (7 - len(self.weekly_offs))
        day = after + timedelta(days=weeks * 7)
        for _ in range(rest):
            day += timedelta(days=1)
            if day.weekday() not in self.weekly_offs:
                counted += 1
        return counted - sum(1 for holiday in self.holidays
                             if after < holiday <= through
                             and holiday.weekday() not in self.weekly_offs)

    def next_calling_time(self, moment: datetime) -> datetime:
        """`moment` if it falls within calling hours, else the next opening (UTC out)."""
        local = moment.astimezone(self.tz)
        if local.time() < self.calling_start:
            local = datetime.combine(local.date(), self.calling_start, self.tz)
        elif local.time() >= self.calling_end:
            local = datetime.combine(local.date() + timedelta(days=1), self.calling_start,
                                     self.tz)
        return local.astimezone(UTC)

    def nth_working_day_after(self, day: date, days: int) -> date:
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def within_calling_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz).time()
        return self.calling_start <= local < self.calling_end


@functools.lru_cache(maxsize=65536)
def _nth_working_day_after(calendar: WorkingCalendar, day: date, days: int) -> date:
    # Every complaint's time limit and each escalation ask this; a year holds few distinct
    # (day, limit) pairs, so the day-by-day walk runs once for each.
    return calendar.nth_working_day_after(day, days)
