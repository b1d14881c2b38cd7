"""The consumer-lag figure (sinks/lag.py) against the real broker: committed offsets against
the log ends, with a plain consumer and no Admin API request."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from kit import kafka
from kit.settings import free_port

from sinks.lag import GroupLag
from streams.admin import ensure_topics
from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import TopicSpec

A = TopicSpec(name="lag-a", key="complaint_id", carries="test data")
B = TopicSpec(name="lag-b", key="complaint_id", carries="test data")


def produce(settings: Settings, counts: dict[tuple[str, int], int]) -> None:
    producer = kafka.producer(settings)
    for (topic, partition), count in counts.items():
        for i in range(count):
            producer.produce(topic, value=f"message {i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def commit(settings: Settings, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit as a member of `group` would, without joining it (like an assigned reader)."""
    consumer = Consumer(confluent_config(settings) | {
        "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                        asynchronous=False)
    finally:
        consumer.close()


def committed(settings: Settings, group: str, partitions: list[tuple[str, int]]) -> list[int]:
    consumer = Consumer(confluent_config(settings) | {"group.id": group})
    try:
        return [tp.offset for tp in consumer.committed(
            [TopicPartition(t, p) for t, p in partitions], timeout=10)]
    finally:
        consumer.close()


def test_lag_is_log_end_minus_committed_per_topic(test_settings):
    ensure_topics(test_settings, [A, B])
    a, b = test_settings.topic(A.name), test_settings.topic(B.name)
    produce(test_settings, {(a, 0): 20, (a, 1): 10, (b, 0): 7})
    group = f"{test_settings.app_id}-workers"
    # a/0 read up to 15 of 20; a/1 never committed (counts from the log start); b/0 read
    # to the end; b/1 empty and never committed.
    commit(test_settings, group, {(a, 0): 15, (b, 0): 7})

    lag = GroupLag(test_settings, group)
    try:
        missing = test_settings.topic("no-such-topic")
        assert lag.read([a, b, missing]) == {a: 5 + 10, b: 0}
        # A group that never committed anything is behind by everything there is.
        never = GroupLag(test_settings, f"{test_settings.app_id}-never")
        try:
            assert never.read([a, b]) == {a: 30, b: 7}
        finally:
            never.close()

        # Catching up moves the figure; more messages move it back.
        commit(test_settings, group, {(a, 0): 20, (a, 1): 10})
        assert lag.read([a, b]) == {a: 0, b: 0}
        produce(test_settings, {(b, 1): 4})
        assert lag.read([a, b]) == {a: 0, b: 4}
    finally:
        lag.close()
    # Looking never commits for the group, nor joins it.
    assert committed(test_settings, group, [(a, 0), (a, 1), (b, 0), (b, 1)]) == [
        20, 10, 7, -1001]


def test_a_partition_never_committed_counts_from_the_log_start(test_settings):
    ensure_topics(test_settings, [A])
    a = test_settings.topic(A.name)
    produce(test_settings, {(a, 0): 12, (a, 1): 3})
    # Retention (here: an explicit delete) has moved a/0's log start to 8.
    admin = AdminClient(confluent_config(test_settings))
    for future in admin.delete_records([TopicPartition(a, 0, 8)]).values():
        future.result(30)

    lag = GroupLag(test_settings, f"{test_settings.app_id}-never")
    try:
        assert lag.read([a]) == {a: (12 - 8) + 3}
    finally:
        lag.close()


def test_no_topics_known_gives_no_figure(test_settings):
    lag = GroupLag(test_settings, f"{test_settings.app_id}-workers")
    try:
        assert lag.read([test_settings.topic("no-such-topic")]) == {}
        assert lag.read([]) == {}
    finally:
        lag.close()


def test_a_broker_away_costs_one_bounded_look_then_none_until_retry():
    # Nothing listens on that port: every request waits for a broker that never comes.
    lag = GroupLag({"bootstrap.servers": f"127.0.0.1:{free_port()}", "log_level": 0},
                   "lag-test-group", timeout=1.0, retry_after=60.0)
    try:
        started = time.monotonic()
        assert lag.read(["any-topic"]) == {}
        assert time.monotonic() - started < 3.0
        started = time.monotonic()
        assert lag.read(["any-topic"]) == {}  # within retry_after: no waiting at all
        assert time.monotonic() - started < 0.5
    finally:
        started = time.monotonic()
        lag.close()
        assert time.monotonic() - started < 5.0
    assert lag.read(["any-topic"]) == {}  # closed: no figure, no error
