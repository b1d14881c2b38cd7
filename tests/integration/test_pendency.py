"""The bench's large pendency is set up by writing the tables' changelogs directly
(bench/pendency.py) instead of registering a million complaints through the pipeline.
That shortcut is only honest if it leaves what the pipeline leaves: here a small stream
goes through a real worker (event time, registrations spread over ten days, warnings and
escalations on the way), and its changelogs must hold, key by key, exactly what
`table_image` writes for the same stream: each complaint's state, next wake-up and the
events of its last decision, and each caller's intake history.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition
from harness import running_worker
from kit.reader import OutputReader

from agents import stored
from bench.backtest import Backtest
from bench.pendency import changelog_topic, pendency_submissions, table_image
from streams.security import confluent_config
from streams.topics import COMPLAINTS_SUBMITTED

END = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def latest_records(settings, topic: str) -> dict[bytes, tuple[int, bytes]]:
    """Every key's partition and newest value on a topic, read with a plain client to its
    end."""
    consumer = Consumer(confluent_config(settings) | {"group.id": f"read-{topic}",
                                                      "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    latest: dict[bytes, tuple[int, bytes]] = {}
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.monotonic() + 60
    while len(done) < len(ends) and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error():
                continue
            latest[message.key()] = (message.partition(), message.value())
            if message.offset() + 1 >= ends[message.partition()]:
                done.add(message.partition())
    consumer.close()
    assert len(done) == len(ends), f"{topic}: not read to its end"
    return latest


def comparable(table: str, partition: int, value: bytes, policy) -> object:
    if table == "callers":
        return partition, json.loads(value)
    state, outbox = stored.decode(value)
    return {"partition": partition, "state": state.to_dict(),
            "wake": stored.wake_of(value, policy),
            "last_events": [json.loads(e)["event_id"] for e in outbox[-1]["events"]]}


@pytest.mark.timeout(600)
def test_written_changelogs_hold_what_the_pipeline_leaves(test_settings):
    settings = test_settings.with_overrides(clock="event", tick_interval_seconds=0.1)
    subs = pendency_submissions(40, END, timedelta(days=10))
    expected_events = len(Backtest.from_settings(settings).run(subs, until=END).events)

    with running_worker(settings) as (worker, pipeline):
        outputs = OutputReader(settings, decode_events=False, group="pendency")
        try:
            for s in subs:
                pipeline.publisher.send(COMPLAINTS_SUBMITTED.name, s.complaint_id, s)
            pipeline.publisher.flush()
            deadline = time.monotonic() + 120
            while len(outputs.states) < len(subs):
                assert time.monotonic() < deadline, worker.tail()
                worker.check_healthy()
                outputs.poll(0.5)
            pipeline.publisher.watermark(END)
            while len(outputs.event_payloads) < expected_events:
                assert time.monotonic() < deadline, (
                    f"{len(outputs.event_payloads)} of {expected_events} events")
                outputs.poll(0.5)
            outputs.poll(2)  # nothing more arrives
            assert len(outputs.event_payloads) == expected_events
        finally:
            outputs.close()
    # the worker is stopped: its last table writes are on the changelogs

    image = table_image(settings, subs, until=END)
    assert image.open_complaints == len(subs)
    kinds = {json.loads(e)["event_type"] for v in image.records["complaints"].values()
             for e in stored.decode(v[1])[1][-1]["events"]}
    assert {"complaint.escalated", "sla.warning"} <= kinds, kinds
    policy = settings.policy()
    for table in ("complaints", "callers"):
        written = {key: comparable(table, partition, value, policy)
                   for key, (partition, value) in image.records[table].items()}
        left = {key: comparable(table, partition, value, policy) for key, (partition, value)
                in latest_records(settings, changelog_topic(settings, table)).items()}
        assert left.keys() == written.keys(), table
        different = [k for k in left if left[k] != written[k]]
        assert not different, (table, different[:3], left[different[0]],
                               written[different[0]])
