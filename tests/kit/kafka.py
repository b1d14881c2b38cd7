"""Plain Kafka clients for tests: a consumer that reads topics from their start without
leaving a trace in any group, a producer that waits for every replica, and a reader that
collects a number of messages or gives up at a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, Message, Producer

from streams.security import confluent_config
from streams.settings import Settings

Source = Settings | str  # the test's settings (brokers and security) or bootstrap servers


def client_config(source: Source) -> dict[str, Any]:
    if isinstance(source, Settings):
        return confluent_config(source)
    return {"bootstrap.servers": source}


def consumer(source: Source, *, topics: Iterable[str] = (), group: str = "test-reader",
             **config: Any) -> Consumer:
    """A consumer of its own group (`group` + a random suffix) that starts at the earliest
    offset and commits nothing; subscribed to `topics` when given. librdkafka options with
    dots go in as `**{"fetch.min.bytes": 1}`."""
    client = Consumer(client_config(source) | {
        "group.id": f"{group}-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    } | config)
    topics = list(topics)
    if topics:
        client.subscribe(topics)
    return client


def producer(source: Source, **config: Any) -> Producer:
    """An idempotent producer whose writes every in-sync replica has acknowledged."""
    return Producer(client_config(source) | {"enable.idempotence": True, "acks": "all"}
                    | config)


def read(source: Source, topics: Iterable[str], count: int, *, timeout: float = 60,
         check: Callable[[], None] | None = None, group: str = "test-reader") -> list[Message]:
    """The first `count` messages of `topics` (fewer if `timeout` passes first: the caller
    asserts on what it got). `check` runs between polls, e.g. a worker's `check_healthy`, so
    a crash fails at once instead of at the timeout."""
    reader = consumer(source, topics=topics, group=group)
    out: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            if check is not None:
                check()
            message = reader.poll(0.5)
            if message is not None and not message.error():
                out.append(message)
    finally:
        reader.close()
    return out
