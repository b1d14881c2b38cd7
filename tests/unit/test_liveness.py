from streams.liveness import stalled


def test_no_backlog_is_never_stalled():
    assert stalled(10, 10, (10, 0.0), 100.0, 30) == (False, None)
    assert stalled(None, None, None, 100.0, 30) == (False, None)


def test_a_backlog_without_progress_stalls_after_the_limit():
    stuck, last = stalled(10, 50, None, 0.0, 30)
    assert not stuck and last == (10, 0.0)
    stuck, last = stalled(10, 60, last, 29.0, 30)
    assert not stuck and last == (10, 0.0)
    stuck, last = stalled(10, 60, last, 30.0, 30)
    assert stuck


def test_progress_restarts_the_clock():
    _, last = stalled(10, 50, None, 0.0, 30)
    stuck, last = stalled(11, 50, last, 40.0, 30)
    assert not stuck and last == (11, 40.0)


def test_a_partition_never_committed_counts_from_zero():
    stuck, _ = stalled(None, 5, (None, 0.0), 31.0, 30)
    assert stuck
