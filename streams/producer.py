"""The producer every channel and tool uses to write complaint events (confluent-kafka)."""

from __future__ import annotations

from datetime import datetime

from confluent_kafka import Producer

from schemas.records import Record
from streams.security import confluent_config
from streams.settings import Settings


def make_producer(settings: Settings, **overrides: object) -> Producer:
    config: dict[str, object] = {
        **confluent_config(settings),
        "enable.idempotence": True,  # no duplicates from retries, order kept per partition
        "acks": "all",
        # Same partitioner as the Faust workers (aiokafka) and the Java clients: a complaint's
        # events must land on one partition whoever writes them. librdkafka's default
        # (CRC32) would split them.
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        # No compression: aiokafka (inside the Faust workers) decodes lz4/zstd only with
        # optional native libraries, and a consumer that cannot decode stops dead.
    }
    config.update(overrides)
    return Producer(config)


class EventPublisher:
    """Send records keyed by complaint id; `flush` waits until the broker has them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer = make_producer(settings)
        self._errors: list[str] = []

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err}")

    def send(self, topic_name: str, key: str, record: Record,
             partition: int | None = None) -> None:
        extra = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(self.settings.topic(topic_name), key=key.encode(),
                                       value=record.to_json(), on_delivery=self._on_delivery,
                                       **extra)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining or self._errors:
            raise RuntimeError(
                f"{remaining} message(s) undelivered; errors: {self._errors[:5]}"
            )

    def watermark(self, at: datetime) -> None:
        """Event time only: tell every worker that time has reached `at`, once everything
        dated before it is on the broker. A clock tick goes to every partition of the
        commands topic (each worker follows the ticks of its own partitions), after a
        flush, so no command dated earlier can land behind a deadline it preceded."""
        from schemas.events import ClockTick
        from streams.topics import COMPLAINT_COMMANDS

        self.flush()
        for partition in range(COMPLAINT_COMMANDS.partitions_for(self.settings)):
            tick = ClockTick(event_id=f"watermark/{at.isoformat()}/{partition}",
                             complaint_id="CLOCK", occurred_at=at)
            self.send(COMPLAINT_COMMANDS.name, "CLOCK", tick, partition=partition)
        self.flush()
