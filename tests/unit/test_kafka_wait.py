"""The wait for Kafka, with a fake probe and a fake clock: no broker, no sleeping."""

from __future__ import annotations

import logging
from collections.abc import Collection

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.kafka_wait import (
    MAX_DELAY,
    PROBE_TIMEOUT,
    SETTLE_SECONDS,
    KafkaUnavailable,
    backoff,
    client_config,
    wait_for_kafka,
)
from streams.settings import Settings

SERVERS = "127.0.0.1:29092"
DOWN = KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure"))


class FakeCluster:
    """Answers each probe from a script; a probe that fails takes its whole timeout, as a
    metadata request to a port where nothing listens does."""

    def __init__(self, answers: list[Collection[str] | Exception]) -> None:
        self.answers = list(answers)
        self.now = 0.0
        self.sleeps: list[float] = []
        self.timeouts: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def probe(self, timeout: float) -> Collection[str]:
        self.timeouts.append(timeout)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            self.now += timeout
            raise answer
        return answer


def settings(wait: float = 0.0) -> Settings:
    return Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": SERVERS,
                              "SANKALP_KAFKA_WAIT_SECONDS": str(wait)})


def run(fake: FakeCluster, topics: Collection[str] = (), wait: float = 0.0):
    return wait_for_kafka(settings(wait), topics, reader="this worker", probe=fake.probe,
                          sleep=fake.sleep, clock=fake.clock)


def test_backoff_doubles_and_is_capped():
    delays = backoff()
    assert [next(delays) for _ in range(7)] == [1, 2, 4, 8, MAX_DELAY, MAX_DELAY, MAX_DELAY]
    assert MAX_DELAY == 10


def test_a_reachable_cluster_returns_at_once_without_a_log_line(caplog):
    fake = FakeCluster([{"t.in"}])
    with caplog.at_level(logging.INFO, logger="sankalp.kafka_wait"):
        outcome = run(fake, ["t.in"])
    assert (outcome.attempts, outcome.waited, outcome.missing_topics) == (1, 0.0, ())
    assert fake.sleeps == [] and caplog.records == []


def test_retries_with_backoff_and_says_so_each_time(caplog):
    fake = FakeCluster([DOWN] * 6 + [{"t.in"}])
    with caplog.at_level(logging.INFO, logger="sankalp.kafka_wait"):
        outcome = run(fake, ["t.in"])
    assert outcome.attempts == 7
    assert fake.sleeps == [1, 2, 4, 8, 10, 10]
    assert outcome.waited == 6 * PROBE_TIMEOUT + sum(fake.sleeps)
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 6
    assert retries[2].getMessage() == (
        f"Kafka not reachable at {SERVERS} (attempt 3, waited 18 s): retrying in 4 s "
        "(Broker transport failure)")
    assert "reachable at 127.0.0.1:29092 after 7 attempts" in caplog.records[-1].getMessage()


def test_gives_up_after_the_configured_wait_without_overshooting_it():
    fake = FakeCluster([DOWN])
    with pytest.raises(KafkaUnavailable, match=r"not reachable at 127\.0\.0\.1:29092.*"
                       r"giving up \(SANKALP_KAFKA_WAIT_SECONDS=20\)"):
        run(fake, ["t.in"], wait=20)
    # Sleeps and probes are cut to the limit; one last short probe falls on it.
    assert 20 <= fake.now <= 20.5
    assert all(t <= PROBE_TIMEOUT for t in fake.timeouts)


def test_zero_means_wait_for_ever():
    fake = FakeCluster([DOWN] * 300 + [{"t.in"}])  # about 75 minutes of outage
    outcome = run(fake, ["t.in"], wait=0)
    assert outcome.attempts == 301 and outcome.waited > 3600


def test_reachable_but_no_topic_yet_waits_for_topics_create(caplog):
    # The broker comes up after a long outage: the back-off starts again from 1 s, so the
    # topics are noticed soon after `sankalp topics create`.
    fake = FakeCluster([DOWN] * 5 + [set(), set(), {"t.a", "t.b", "other"}])
    with caplog.at_level(logging.WARNING, logger="sankalp.kafka_wait"):
        outcome = run(fake, ["t.a", "t.b"])
    assert outcome.missing_topics == ()
    assert fake.sleeps == [1, 2, 4, 8, 10, 1, 2]
    assert "none of the 2 topics this worker reads (e.g. t.a); create them with " \
           "`sankalp topics create`" in caplog.records[-1].getMessage()


def test_topics_never_created_count_against_the_wait():
    fake = FakeCluster([set()])
    with pytest.raises(KafkaUnavailable, match="none of the topics this worker reads exists"):
        run(fake, ["t.a"], wait=15)


def test_some_topics_missing_settles_briefly_then_starts_with_a_warning(caplog):
    fake = FakeCluster([{"t.a"}])
    with caplog.at_level(logging.WARNING, logger="sankalp.kafka_wait"):
        outcome = run(fake, ["t.a", "t.b", "t.c"])
    assert outcome.missing_topics == ("t.b", "t.c")
    assert outcome.waited == SETTLE_SECONDS
    assert "starting without 2 of the topics this worker reads: t.b, t.c" in caplog.text


def test_topics_that_appear_while_settling_are_waited_for():
    fake = FakeCluster([{"t.a"}, {"t.a"}, {"t.a", "t.b"}])
    outcome = run(fake, ["t.a", "t.b"])
    assert outcome.missing_topics == () and outcome.attempts == 3


def test_no_topics_asked_for_means_reachable_is_enough():
    assert run(FakeCluster([set()])).attempts == 1


def test_probe_client_uses_the_clusters_security_settings_and_is_quiet():
    config = client_config(Settings.from_env({
        "KAFKA_BOOTSTRAP_SERVERS": "b1:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "sankalp", "KAFKA_SASL_PASSWORD": "s3cret"}))
    assert config["bootstrap.servers"] == "b1:9093"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "s3cret"
    assert config["log_level"] == 0
