"""Intake rules: pseudonym, duplicates, the per-caller daily limit, redelivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.intake import CallerHistory, IntakeRules, citizen_ref, decide_submission
from schemas.events import ComplaintSubmitted

T0 = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)  # 10:30 IST
RULES = IntakeRules(duplicate_window=timedelta(days=7), daily_limit=3)


def submission(n: int, at: datetime = T0, category: str = "drinking_water_supply",
               block: str = "Theog") -> ComplaintSubmitted:
    return ComplaintSubmitted(
        event_id=f"e-{n}", complaint_id=f"HP-{n}", occurred_at=at, channel="phone_1100",
        category=category, district="Shimla", block=block, text="पानी",
        citizen_phone="9816000001", citizen_name="x")


def run(*subs: ComplaintSubmitted, rules: IntakeRules = RULES):
    history, outcomes = CallerHistory(), []
    for sub in subs:
        decision = decide_submission(history, sub, rules)
        history = CallerHistory.from_dict(decision.history.to_dict())  # as stored
        outcomes.append((decision.submission.outcome, decision.submission.linked_to))
    return outcomes


def test_pseudonym_is_stable_keyed_and_hides_the_number():
    ref = citizen_ref("9816000001", "k1")
    assert ref == citizen_ref("+919816000001", "k1")
    assert ref != citizen_ref("9816000001", "k2")
    assert "9816000001" not in ref


def test_same_problem_same_place_within_the_window_is_linked():
    assert run(submission(1), submission(2, T0 + timedelta(days=2))) == [
        ("registered", None), ("duplicate", "HP-1")]


def test_other_category_or_place_or_after_the_window_is_new():
    assert run(submission(1), submission(2, category="road_repair"),
               submission(3, block="Narkanda"),
               submission(4, T0 + timedelta(days=8)))[1:] == [
        ("registered", None), ("registered", None), ("registered", None)]


def test_daily_limit_per_caller_counts_the_ist_day():
    subs = [submission(i, T0 + timedelta(minutes=i), category=c)
            for i, c in enumerate(["drinking_water_supply", "road_repair", "low_voltage",
                                   "street_light"])]
    assert [o for o, _ in run(*subs)] == ["registered", "registered", "registered", "limited"]
    next_day = submission(9, T0 + timedelta(days=1), category="ration_card")
    assert run(*subs, next_day)[-1] == ("registered", None)


def test_a_redelivered_submission_gets_the_same_answer():
    first = submission(1)
    history = decide_submission(CallerHistory(), first, RULES).history
    again = decide_submission(history, first, RULES)
    assert again.repeated and again.submission.outcome == "registered"
    assert again.history == history


@given(st.lists(st.tuples(st.integers(0, 20 * 24), st.sampled_from(["a", "b"])),
                max_size=30))
def test_never_more_registrations_a_day_than_the_limit(steps):
    subs = [submission(i, T0 + timedelta(hours=h), category=f"cat_{c}_{i}")
            for i, (h, c) in enumerate(sorted(steps))]
    history = CallerHistory()
    per_day: dict = {}
    for sub in subs:
        decision = decide_submission(history, sub, RULES)
        history = decision.history
        if decision.submission.outcome == "registered":
            day = (sub.occurred_at + timedelta(hours=5, minutes=30)).date()
            per_day[day] = per_day.get(day, 0) + 1
    assert all(count <= RULES.daily_limit for count in per_day.values())
