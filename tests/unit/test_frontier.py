"""The read frontier: what an agent has really handled, and what may be committed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.frontier import Frontier, Verdict

TP = ("complaints.commands.v1", 3)


def test_offsets_in_order_are_processed_and_may_be_committed():
    f = Frontier()
    f.start(TP, 40)
    for offset in (40, 41, 42):
        assert f.judge(TP, offset) is Verdict.PROCESS
        f.processed(TP, offset)
    assert f.clamp(TP, 43) == 43


def test_a_jump_is_not_processed_and_holds_the_commit():
    """The lost registration: 42 never reached the agent, 43 did, and Faust proposed to
    commit past both."""
    f = Frontier()
    f.start(TP, 40)
    for offset in (40, 41):
        f.processed(TP, offset)
    assert f.judge(TP, 43) is Verdict.JUMP
    assert f.clamp(TP, 44) == 42
    assert f.next(TP) == 42


def test_a_repeat_is_skipped():
    f = Frontier()
    f.start(TP, 40)
    f.processed(TP, 40)
    assert f.judge(TP, 40) is Verdict.REPEAT


def test_nothing_is_committed_for_a_partition_not_read_since_assignment():
    f = Frontier()
    assert f.clamp(TP, 10) is None
    f.start(TP, 5)
    f.forget()
    assert f.clamp(TP, 10) is None


def test_no_proposal_stays_none():
    f = Frontier()
    f.start(TP, 5)
    assert f.clamp(TP, None) is None


@given(st.integers(0, 1000), st.lists(st.integers(0, 60), max_size=80),
       st.integers(0, 2000))
def test_the_commit_never_passes_an_offset_that_was_not_processed(start, arrivals, proposed):
    """Whatever order the consumer delivers offsets in (repeats, jumps, seeks), every offset
    below what may be committed was processed."""
    f = Frontier()
    f.start(TP, start)
    processed: set[int] = set()
    for delta in arrivals:
        offset = start + delta
        if f.judge(TP, offset) is Verdict.PROCESS:
            processed.add(offset)
            f.processed(TP, offset)
    allowed = f.clamp(TP, proposed)
    if allowed is not None and allowed > start:
        assert set(range(start, allowed)) <= processed
