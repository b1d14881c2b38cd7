"""The three-broker cluster: forms, and a replication-factor-3 topic takes acks=all writes."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kit import kafka

pytestmark = pytest.mark.cluster


def test_three_brokers_replicate_with_acks_all(cluster_bootstrap_servers):
    admin = AdminClient({"bootstrap.servers": cluster_bootstrap_servers})
    metadata = admin.list_topics(timeout=10)
    assert sorted(metadata.brokers) == [1, 2, 3]

    topic = f"t-cluster-{uuid.uuid4().hex[:8]}"
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=3,
                  config={"min.insync.replicas": "2"})],
        operation_timeout=30,
    )
    futures[topic].result(30)
    try:
        deadline = time.monotonic() + 30
        while True:
            partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
            if partitions and all(len(p.isrs) == 3 for p in partitions.values()):
                break
            assert time.monotonic() < deadline, f"ISR never reached 3: {partitions}"
            time.sleep(0.2)
        assert all(sorted(p.replicas) == [1, 2, 3] for p in partitions.values())

        delivered: list[str] = []

        def on_delivery(err, msg):
            assert err is None, err
            delivered.append(msg.value().decode())

        producer = kafka.producer(cluster_bootstrap_servers)
        values = [f"escalation-{i}" for i in range(50)]
        for value in values:
            producer.produce(topic, key=value[-1:].encode(), value=value.encode(),
                             on_delivery=on_delivery)
        assert producer.flush(30) == 0
        assert sorted(delivered) == sorted(values)

        seen = [m.value().decode()
                for m in kafka.read(cluster_bootstrap_servers, [topic], len(values))]
        assert sorted(seen) == sorted(values)
    finally:
        admin.delete_topics([topic], operation_timeout=30)[topic].result(30)
