"""Failpoints: the SANKALP_FAILPOINTS spec and the counting of hits (the SIGKILL itself is
exercised by tests/integration/test_sink_crash.py, in a child process)."""

from __future__ import annotations

import os
import signal

import pytest
from kit.failpoints import Failpoints, parse

from streams.settings import SettingsError


def test_empty_spec_arms_nothing():
    assert parse("") == {}
    assert parse(" , ,") == {}
    assert Failpoints.from_env({}).armed == {}


def test_names_and_counts_with_spaces():
    assert parse("sink.before_commit=3") == {"sink.before_commit": 3}
    assert parse(" sink.before_commit = 2 , worker.after_send=1,") == {
        "sink.before_commit": 2, "worker.after_send": 1}


def test_read_from_the_environment_by_the_test_kit_alone():
    env = {"SANKALP_FAILPOINTS": "sink.before_commit=5"}
    assert Failpoints.from_env(env).armed == {"sink.before_commit": 5}


@pytest.mark.parametrize("spec, says", [
    ("sink.before_commit", "not name=N"),
    ("=3", "not name=N"),
    ("sink.before_commit=three", "whole number"),
    ("sink.before_commit=2.5", "whole number"),
    ("sink.before_commit=0", "counts hits from 1"),
    ("sink.before_commit=-1", "counts hits from 1"),
    ("a=1,a=2", "given twice"),
])
def test_a_malformed_spec_is_a_settings_error_naming_the_variable(spec, says):
    with pytest.raises(SettingsError, match=says) as caught:
        parse(spec)
    assert "SANKALP_FAILPOINTS" in str(caught.value)


def test_only_the_nth_hit_of_that_name_crashes():
    points = Failpoints.from_spec("sink.before_commit=3")
    assert [points.should_crash("sink.before_commit") for _ in range(5)] == [
        False, False, True, False, False]
    assert points.hits("sink.before_commit") == 5
    assert not points.should_crash("something.else")
    assert points.hits("something.else") == 0  # unarmed names are not even counted


def test_hit_before_the_nth_pass_returns_and_on_it_kills_this_process(monkeypatch, caplog):
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    points = Failpoints.from_spec("sink.before_commit=2")
    points.hit("sink.before_commit")
    points.hit("other")
    assert killed == []
    with caplog.at_level("WARNING", logger="sankalp.failpoints"):
        points.hit("sink.before_commit")
    assert killed == [(os.getpid(), signal.SIGKILL)]
    assert "failpoint sink.before_commit reached (hit 2): killing this process" in caplog.text


def test_nothing_armed_means_nothing_counted():
    points = Failpoints()
    for _ in range(3):
        points.hit("sink.before_commit")
    assert points.hits("sink.before_commit") == 0
