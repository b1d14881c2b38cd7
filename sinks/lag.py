"""How far a consumer group is behind, per topic: committed offsets against the log ends.

Read with a plain consumer of its own, never with the Admin API: in CI, librdkafka's admin
requests (ListConsumerGroupOffsets, ListOffsets) aborted the whole sink process on a C
assertion (`rd_kafka_enq_once_del_source_return: eonce->refcnt > 0`) while one broker of
three was SIGKILLed. A Python `except` cannot catch an abort, and a gauge must never take
the sink down. The consumer's own calls (metadata, OffsetFetch, ListOffsets for the
watermarks) do not go through that machinery.

The consumer carries the watched group's id only so that `committed()` asks that group's
coordinator; it never subscribes, so it never joins the group nor moves its offsets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.security import confluent_config

if TYPE_CHECKING:
    from streams.settings import Settings

log = logging.getLogger("sankalp.lag")


class GroupLag:
    """Messages not yet committed by one consumer group, per topic.

    One look is bounded by `timeout` seconds in all, and the first timeout or Kafka error
    ends it with no figure ({}): the sink's loop is single-threaded, and a broker away must
    cost it seconds, not minutes. After a failed look the next `retry_after` seconds of
    looks return {} at once, so a long outage does not block the loop on every call.
    """

    def __init__(self, source: Settings | Mapping[str, Any], group: str, *,
                 timeout: float = 3.0, retry_after: float = 30.0) -> None:
        config = dict(source) if isinstance(source, Mapping) else confluent_config(source)
        self.group = group
        self.timeout = timeout
        self.retry_after = retry_after
        self._failed_at: float | None = None
        self._consumer: Consumer | None = Consumer({
            **config,
            "group.id": group,
            # Never commit: these are the watched group's offsets, not ours to move.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # As the admin lookup was: log ends are high watermarks, and committed() does
            # not wait out a transaction's pending offsets (read_committed would do both).
            "isolation.level": "read_uncommitted",
            "client.id": f"{group}-lag",
        })

    def read(self, topics: Iterable[str]) -> dict[str, int]:
        """Lag per topic (a partition the group never committed counts from the start of
        the log); {} when the figure cannot be had in time. Never raises for Kafka."""
        consumer = self._consumer
        if consumer is None:
            return {}
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < self.retry_after:
            return {}
        deadline = now + self.timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no figure within {self.timeout:g}s")
            return remaining

        try:
            self._drain(consumer)
            lag = self._look(consumer, list(topics), left)
        except (KafkaException, TimeoutError) as exc:
            # A broker away (or slow) means no figure this time, never a failure: the
            # caller is the sink, whose rows matter more than a gauge.
            if self._failed_at is None:
                log.warning("consumer lag of %s not read (%s); next try in %gs",
                            self.group, exc, self.retry_after)
            self._failed_at = time.monotonic()
            return {}
        if self._failed_at is not None:
            log.info("consumer lag of %s readable again", self.group)
            self._failed_at = None
        return lag

    @staticmethod
    def _look(consumer: Consumer, topics: list[str],
              left: Callable[[], float]) -> dict[str, int]:
        metadata = consumer.list_topics(timeout=left())
        partitions = [
            TopicPartition(topic, p)
            for topic in topics if topic in metadata.topics
            for p in sorted(metadata.topics[topic].partitions)
        ]
        if not partitions:
            return {}
        lag: dict[str, int] = {}
        for tp in consumer.committed(partitions, timeout=left()):
            if tp.error is not None:
                raise KafkaException(tp.error)
            watermarks = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=left(), cached=False)
            if watermarks is None:
                raise TimeoutError(f"no watermarks for {tp.topic} [{tp.partition}]")
            start, end = watermarks
            position = tp.offset if tp.offset >= 0 else start
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - position)
        return lag

    @staticmethod
    def _drain(consumer: Consumer) -> None:
        # Never polled otherwise: without this, the client's error events (one per broker
        # lost) would pile up in its queue for as long as the sink runs. It has no
        # assignment, so poll() returns no messages, only those events.
        for _ in range(1000):
            if consumer.poll(0) is None:
                return

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.debug("closing the lag consumer of %s: %s", self.group, exc)

