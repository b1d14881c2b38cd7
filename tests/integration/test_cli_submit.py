"""`sankalp submit` registers one complaint from the shell onto the submissions topic."""

from __future__ import annotations

import json

from kit import kafka

from devstack.runners import settings_env
from streams.admin import ensure_topics
from streams.cli import main
from streams.topics import COMPLAINTS_SUBMITTED


def test_submit_writes_a_valid_submission_and_refuses_a_bad_one(test_settings, monkeypatch,
                                                                  capsys):
    ensure_topics(test_settings, [COMPLAINTS_SUBMITTED])
    for name, value in settings_env(test_settings).items():
        monkeypatch.setenv(name, value)
    args = ["submit", "--complaint-id", "hp-cli-1", "--category", "drinking_water_supply",
            "--district", "Kangra", "--block", "Nurpur", "--phone", "9816012345",
            "--name", "Ram Lal", "--text", "हैंडपंप तीन दिन से खराब"]
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
