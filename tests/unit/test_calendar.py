"""Working days and calling hours in Asia/Kolkata."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import IST, WorkingCalendar

CAL = WorkingCalendar.with_holidays([date(2026, 1, 26), date(2026, 8, 15)])


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def test_seven_working_days_skip_sundays():
    # Monday 5 Jan 2026, 10:30 IST -> 7 working days later is Tuesday 13 Jan (Sunday skipped)
    due = CAL.add_working_days(ist(2026, 1, 5, 10, 30), 7)
    assert due.astimezone(IST) == ist(2026, 1, 13, 10, 30)
    assert due.tzinfo == UTC


def test_gazetted_holiday_does_not_count():
    # Republic Day (Mon 26 Jan 2026) is a holiday: Fri 23 Jan + 2 working days is
    # Sat 24 (1), Sunday off, Monday holiday, Tue 27 (2)
    assert CAL.add_working_days(ist(2026, 1, 23, 9, 0), 2).astimezone(IST) == ist(2026, 1, 27,
                                                                                  9, 0)


def test_registered_on_a_day_off_counts_from_the_next_working_day():
    # Sunday 11 Jan 2026 at 18:00 -> counting starts Monday 00:00 -> 1 day -> Tuesday 00:00
    assert CAL.add_working_days(ist(2026, 1, 11, 18, 0), 1).astimezone(IST) == ist(2026, 1,
                                                                                   13, 0, 0)


def test_configurable_weekly_offs():
    five_day_week = WorkingCalendar.with_holidays([], weekly_offs=(5, 6))
    # Friday 9 Jan + 1 working day = Monday 12 Jan
    assert five_day_week.add_working_days(ist(2026, 1, 9, 11, 0), 1).astimezone(IST) == ist(
        2026, 1, 12, 11, 0)


def test_calling_hours_07_to_22_ist():
    assert CAL.next_calling_time(ist(2026, 3, 3, 6, 15)).astimezone(IST) == ist(2026, 3, 3, 7)
    assert CAL.next_calling_time(ist(2026, 3, 3, 22, 0)).astimezone(IST) == ist(2026, 3, 4, 7)
    noon = ist(2026, 3, 3, 12, 0)
    assert CAL.next_calling_time(noon) == noon.astimezone(UTC)
    assert CAL.within_calling_hours(noon)
    assert not CAL.within_calling_hours(ist(2026, 3, 3, 23, 0))


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC))


@given(moments, st.integers(min_value=0, max_value=30))
def test_due_lands_on_a_working_day_and_counts_exactly(start, days):
    due = CAL.add_working_days(start, days)
    assert due >= start or days == 0
    local_due = due.astimezone(IST).date()
    if days > 0:
        assert CAL.is_working_day(local_due)
        # count the working days strictly after the (normalised) start day up to the due day
        day = start.astimezone(IST).date()
        while not CAL.is_working_day(day):
            day += timedelta(days=1)
        counted, cursor = 0, day
        while cursor < local_due:
            cursor += timedelta(days=1)
            counted += CAL.is_working_day(cursor)
        assert counted == days


@given(moments, st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=20))
def test_more_days_never_come_sooner(start, a, b):
    low, high = sorted((a, b))
    assert CAL.add_working_days(start, low) <= CAL.add_working_days(start, high)


@given(moments)
def test_next_calling_time_is_within_hours_and_not_earlier(moment):
    called = CAL.next_calling_time(moment)
    assert called >= moment
    assert CAL.within_calling_hours(called)
    assert called - moment <= timedelta(hours=9)


def _walked(calendar, start, end) -> int:
    """The plain day-by-day count working_days_between replaced (it is the definition)."""
    local = start.astimezone(calendar.tz)
    if not calendar.is_working_day(local.date()):
        day = local.date()
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), calendar.tz)
    time_of_day = local.timetz().replace(tzinfo=None)
    last, day, counted = end.astimezone(calendar.tz).date(), local.date(), 0
    while day < last:
        day += timedelta(days=1)
        if calendar.is_working_day(day) and datetime.combine(day, time_of_day,
                                                             calendar.tz) <= end:
            counted += 1
    return counted


@settings(max_examples=400)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                    timezones=st.just(UTC)),
       st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=400)),
       st.sets(st.integers(0, 6), max_size=5),
       st.sets(st.dates(date(2025, 12, 1), date(2028, 3, 1)), max_size=30))
def test_working_days_between_counted_by_weeks_equals_the_day_by_day_count(
        start, span, offs, holidays):
    calendar = WorkingCalendar.with_holidays(holidays, weekly_offs=offs)
    assert calendar.working_days_between(start, start + span) == _walked(
        calendar, start, start + span)
