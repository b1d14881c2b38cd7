"""`sankalp submit` registers one complaint from the shell onto the submissions topic,
refuses at once what intake would dead-letter, and with --wait prints what became of it."""

from __future__ import annotations

import json
import re

import pytest
from kit import kafka
from kit.settings import own_topics, settings_for

from devstack.runners import WorkerProcess, settings_env
from streams.admin import ensure_topics
from streams.cli import main
from streams.topics import ALL_TOPICS, COMPLAINTS_SUBMITTED


def _args(complaint_id: str, category: str = "drinking_water_supply", district: str = "Kangra",
          block: str = "Nurpur", phone: str = "9816012345") -> list[str]:
    return ["submit", "--complaint-id", complaint_id, "--category", category,
            "--district", district, "--block", block, "--phone", phone,
            "--name", "Ram Lal", "--text", "हैंडपंप तीन दिन से खराब"]


def _use(settings, monkeypatch) -> None:
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)


def test_submit_writes_a_valid_submission_and_refuses_a_bad_one(test_settings, monkeypatch,
                                                                  capsys):
    ensure_topics(test_settings, [COMPLAINTS_SUBMITTED])
    _use(test_settings, monkeypatch)
    args = _args("hp-cli-1")
    assert main(args) == 0
    assert "submitted HP-CLI-1" in capsys.readouterr().out
    assert main([*args[:-6], "--phone", "12345", *args[-4:]]) == 2
    assert "10-digit" in capsys.readouterr().err

    # Two would be read if the refused submission had been written after all.
    received = kafka.read(test_settings, [test_settings.topic(COMPLAINTS_SUBMITTED.name)], 2,
                          timeout=10)
    assert len(received) == 1
    assert received[0].key() == b"HP-CLI-1"
    payload = json.loads(received[0].value())
    assert payload["event_type"] == "complaint.submitted"
    assert payload["text"] == "हैंडपंप तीन दिन से खराब"


@pytest.mark.parametrize(("where", "said"), [
    (dict(category="nonsense"),
     "unknown complaint category 'nonsense'; the valid codes are in "
     "core/reference/categories.py"),
    (dict(category="drinking_water"),
     "(did you mean drinking_water_supply?)"),
    (dict(district="Atlantis"), "unknown district 'Atlantis'; Himachal Pradesh has: Bilaspur"),
    (dict(block="Theog"), "unknown block 'Theog' in district Kangra; its blocks are: Baijnath"),
])
def test_what_intake_would_dead_letter_is_refused_before_it_is_sent(
        test_settings, monkeypatch, capsys, where, said):
    """Intake's own check (core/intake.py check_routable), before anything is written: no
    topic exists for this test, so a write would have failed too."""
    _use(test_settings, monkeypatch)
    assert main(_args("hp-cli-bad", **where)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("sankalp: not submitted: ") and "\n" not in err
    assert said in err


@pytest.fixture
def worker_settings(services, tmp_path):
    """A worker of its own, with a caller limit of one complaint a day."""
    with own_topics(settings_for("cli-submit-wait", services, tmp_path,
                                 caller_daily_limit=1)) as settings:
        ensure_topics(settings, ALL_TOPICS)
        yield settings


def test_wait_prints_the_outcome(worker_settings, monkeypatch, capsys):
    _use(worker_settings, monkeypatch)
    worker = WorkerProcess(worker_settings, worker_settings.stack_dir / "worker.log").start()
    try:
        # Before a worker consumes, nothing comes back: said in one line, exit 1.
        assert main([*_args("hp-wait-0", phone="9816000000"), "--wait", "0.5"]) == 1
        assert "no outcome for HP-WAIT-0 within 0.5 s; is a worker running?" in (
            capsys.readouterr().err)
        worker.wait_ready(120)

        assert main([*_args("hp-wait-1"), "--wait", "60"]) == 0, worker.tail()
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("submitted HP-WAIT-1")
        assert re.fullmatch(r"registered HP-WAIT-1: level 1 \(block\), \S+, officer \S+, "
                            r"due \d{4}-\d\d-\d\d \d\d:\d\d IST", out[1]), out

        # the same caller, the same problem in the same place: linked, not registered again
        assert main([*_args("hp-wait-2"), "--wait", "60"]) == 0, worker.tail()
        assert capsys.readouterr().out.splitlines()[1] == (
            "HP-WAIT-2 is a duplicate of HP-WAIT-1: linked to it, not registered again")

        # another problem the same day: over the caller limit of 1, a dead letter
        assert main([*_args("hp-wait-3", category="street_light"), "--wait", "60"]) == 1
        captured = capsys.readouterr()
        assert captured.out.startswith("submitted HP-WAIT-3")
        assert captured.err.strip() == ("sankalp: HP-WAIT-3 refused (dead letter): caller "
                                        "limit: more than 1 complaints today")
    finally:
        assert worker.stop() == 0, worker.tail()
