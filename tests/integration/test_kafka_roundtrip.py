"""confluent-kafka against the real broker: what goes in comes out, in order per key."""

from __future__ import annotations

from kit import kafka

from streams.admin import ensure_topics
from streams.topics import TopicSpec


def test_produce_consume_round_trip_keeps_bytes_and_per_key_order(test_settings):
    spec = TopicSpec(name="roundtrip", key="complaint_id", carries="test data")
    ensure_topics(test_settings, [spec])
    topic = test_settings.topic(spec.name)

    producer = kafka.producer(test_settings)
    sent: list[tuple[bytes, bytes]] = []
    for i in range(200):
        key = f"HP-{i % 7:04d}".encode()
        value = f"शिकायत {i}: पानी नहीं आ रहा / no water".encode()
        producer.produce(topic, key=key, value=value)
        sent.append((key, value))
    assert producer.flush(30) == 0

    received = [(m.key(), m.value()) for m in kafka.read(test_settings, [topic], len(sent))]

    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]
