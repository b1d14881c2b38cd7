"""The worker's table values (agents/stored.py): what is written reads back the same, the
wake-up is read from the prefix alone, and values in the earlier format still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents import stored
from core.intake import CallerHistory, Submission
from core.lifecycle import Context, decide, next_wakeup
from core.policy import LifecyclePolicy
from core.reference import OfficerDirectory, build_officer_directory
from schemas.events import ClockTick, ComplaintRegistered

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
CTX = Context(directory=OfficerDirectory(build_officer_directory()))


def a_state(days: int = 0):
    state = decide(None, ComplaintRegistered(
        event_id="reg-1", complaint_id="HP-1", occurred_at=T0, channel="phone_1100",
        category="drinking_water_supply", district="Shimla", block="Theog",
        text="पानी नहीं आ रहा", citizen_ref="ref-1"), CTX).state
    if days:
        state = decide(state, ClockTick(event_id="t", complaint_id="HP-1",
                                        occurred_at=T0 + timedelta(days=days)), CTX).state
    return state


@given(days=st.integers(min_value=0, max_value=60))
def test_a_complaint_reads_back_as_written_and_its_wake_up_from_the_prefix(days):
    state = a_state(days)
    wake = next_wakeup(state, CTX.policy)
    outbox = [{"offset": 3, "changed": True, "events": ['{"event_id":"e"}']}]
    raw = stored.encode(state, outbox, wake)
    assert stored.decode(raw) == (state, outbox)
    assert stored.wake_of(raw, CTX.policy) == wake


def test_the_wake_up_is_read_without_decoding_the_state():
    raw = stored.encode(a_state(), [], T0)
    damaged = raw[:raw.index(b"{")] + b"not json"
    assert stored.wake_of(damaged, CTX.policy) == T0
    with pytest.raises(ValueError):
        stored.decode(damaged)


def test_no_wake_up_is_an_empty_prefix():
    raw = stored.encode(a_state(), [], None)
    assert raw.startswith(b"1||")
    assert stored.wake_of(raw, CTX.policy) is None


def test_a_value_in_the_earlier_format_still_reads():
    """Before: Faust's JSON codec wrote {"state", "outbox"}; the wake-up was elsewhere."""
    state = a_state()
    legacy = json.dumps({"state": state.to_dict(), "outbox": []}).encode()
    assert stored.decode(legacy) == (state, [])
    assert stored.wake_of(legacy, LifecyclePolicy()) == next_wakeup(state, LifecyclePolicy())


def test_a_caller_history_reads_back_and_reads_faust_json_too():
    history = CallerHistory((Submission(event_id="e-1", complaint_id="HP-1", at=T0,
                                        category="roads",
                                        district="Shimla", block="Theog", outcome="registered",
                                        linked_to=None),))
    raw = stored.encode_caller(history)
    assert stored.decode_caller(raw) == history
    assert stored.decode_caller(json.dumps(history.to_dict(), indent=1).encode()) == history
    assert stored.decode_caller(None) == CallerHistory()
