"""The time index returns exactly the keys due, each once, earliest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.time_index import TimeIndex

T0 = datetime(2026, 1, 1, tzinfo=UTC)
keys = st.sampled_from([f"HP-{i}" for i in range(12)])
offsets = st.one_of(st.none(), st.integers(min_value=0, max_value=100))


@given(st.lists(st.tuples(keys, offsets), max_size=200), st.integers(0, 100))
def test_pop_due_matches_a_plain_dict_model(operations, cut):
    index, model = TimeIndex(), {}
    for key, offset in operations:
        when = None if offset is None else T0 + timedelta(seconds=offset)
        index.schedule(key, when)
        if when is None:
            model.pop(key, None)
        else:
            model[key] = when
    now = T0 + timedelta(seconds=cut)
    due = index.pop_due(now)
    expected = sorted(((w, k) for k, w in model.items() if w <= now))
    assert [(w, k) for k, w in due] == expected
    assert len(index) == len(model) - len(expected)
    assert index.pop_due(now) == []  # each key comes out once


def test_rescheduling_moves_a_key():
    index = TimeIndex()
    index.schedule("A", T0 + timedelta(seconds=5))
    index.schedule("A", T0 + timedelta(seconds=50))
    assert index.pop_due(T0 + timedelta(seconds=10)) == []
    assert index.next_due() == T0 + timedelta(seconds=50)
