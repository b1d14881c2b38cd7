"""`sankalp worker` / `sankalp sink` and an unreachable Kafka: a real cluster is waited
for (start order does not matter), this machine's own stack that is not running is not:
nothing would ever start it, so the command says so in one line and exits 2. The waiting
side runs against real processes in tests/integration/test_cli_errors.py; this side would
need the shared stack stopped, so the stack is stood in for here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streams import cli


@pytest.fixture
def kafka_down(monkeypatch):
    def unreachable(settings, topics=(), timeout=5.0):
        raise cli.Unreachable(f"cannot reach Kafka at {settings.kafka_bootstrap_servers} "
                              f"(connection refused); {cli.START_STACK}")

    monkeypatch.setattr(cli, "_need_kafka", unreachable)
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SANKALP_KAFKA_WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    def stack(running: bool):
        kafka = SimpleNamespace(bootstrap_servers="127.0.0.1:9092",
                                is_running=lambda: running)
        monkeypatch.setattr(cli, "_stack", lambda settings: SimpleNamespace(
            kafka=kafka, postgres_port=55432))
    return stack


def test_the_worker_does_not_wait_for_a_local_stack_nobody_started(kafka_down, capsys):
    kafka_down(running=False)
    assert cli.main(["worker"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("sankalp: cannot reach Kafka at 127.0.0.1:9092")
    assert "`sankalp stack up`" in err[0] and "local stack is not running" in err[0]


def test_a_worker_pointed_elsewhere_is_told_it_waits(kafka_down, monkeypatch, capsys):
    kafka_down(running=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker1.internal:9092")
    cli._waiting_for_kafka_hint(cli.Settings.from_env())  # no exit: it will wait
    err = capsys.readouterr().err
    assert "waiting until it answers" in err
