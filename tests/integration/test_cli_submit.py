"""`sankalp submit` registers one complaint from the shell onto the submissions topic."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import Consumer

from streams.admin import ensure_topics
from streams.cli import main
from streams.topics import COMPLAINTS_SUBMITTED
from streams.worker_process import settings_env


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

    consumer = Consumer({"bootstrap.servers": test_settings.kafka_bootstrap_servers,
                         "group.id": f"cli-{uuid.uuid4()}", "auto.offset.reset": "earliest"})
    consumer.subscribe([test_settings.topic(COMPLAINTS_SUBMITTED.name)])
    received = []
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            received.append(message)
    consumer.close()
    assert len(received) == 1
    assert received[0].key() == b"HP-CLI-1"
    payload = json.loads(received[0].value())
    assert payload["event_type"] == "complaint.submitted"
    assert payload["text"] == "हैंडपंप तीन दिन से खराब"
