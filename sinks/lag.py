"""How far a consumer group is behind, per topic: committed offsets against the log ends.

Two batched admin requests per look, so the sink can watch the Faust workers' group too.
"""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec


def group_lag(admin: AdminClient, group: str, topics: list[str],
              timeout: float = 5.0) -> dict[str, int]:
    """Messages not yet committed by `group`, per topic (a partition it never committed
    counts from the start of the log)."""
    metadata = admin.list_topics(timeout=timeout)
    partitions = [
        TopicPartition(topic, p)
        for topic in topics if topic in metadata.topics
        for p in metadata.topics[topic].partitions
    ]
    if not partitions:
        return {}
    try:
        committed_future = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=timeout)[group]
        committed = {(tp.topic, tp.partition): tp.offset
                     for tp in committed_future.result(timeout).topic_partitions}
        ends = admin.list_offsets({tp: OffsetSpec.latest() for tp in partitions},
                                  request_timeout=timeout)
        starts = admin.list_offsets({tp: OffsetSpec.earliest() for tp in partitions},
                                    request_timeout=timeout)
        lag: dict[str, int] = {}
        for tp in partitions:
            end = ends[tp].result(timeout).offset
            position = committed.get((tp.topic, tp.partition), -1)
            if position < 0:
                position = starts[tp].result(timeout).offset
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - position)
        return lag
    except (KafkaException, TimeoutError):
        # a broker away (or slow) means no figure this time, never a failure: the caller
        # is the sink, whose rows matter more than a gauge
        return {}
