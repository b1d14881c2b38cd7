"""Creating the declared topics on a cluster (idempotent, and loud about a mismatch)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import ALL_TOPICS, TopicSpec


class TopicMismatch(RuntimeError):
    """An existing topic has a different partition count than its declaration."""


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient(confluent_config(settings))


def ensure_topics(
    settings: Settings, specs: Iterable[TopicSpec] = ALL_TOPICS, timeout: float = 30.0
) -> list[str]:
    """Create every declared topic that does not exist yet; return the names created."""
    admin = admin_client(settings)
    specs = list(specs)
    wanted = {
        settings.topic(s.name): NewTopic(
            settings.topic(s.name),
            num_partitions=s.partitions_for(settings),
            replication_factor=settings.topic_replication_factor,
            config=s.kafka_config(),
        )
        for s in specs
    }
    created: list[str] = []
    futures = admin.create_topics(list(wanted.values()), operation_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    # A created topic reaches every broker's metadata a moment after CreateTopics returns.
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout)
        missing = [n for n in wanted if n not in metadata.topics]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise TopicMismatch(f"topics not visible {timeout:.0f}s after creation: {missing}")
        time.sleep(0.1)
    for name, new in wanted.items():
        existing = metadata.topics[name]
        if len(existing.partitions) != new.num_partitions:
            raise TopicMismatch(
                f"topic {name} has {len(existing.partitions)} partitions but is declared with "
                f"{new.num_partitions}; complaint state is co-partitioned by complaint_id, so "
                "recreate it or set SANKALP_TOPIC_PARTITIONS to match"
            )
    return created


def delete_topics_with_prefix(bootstrap_servers: str, *prefixes: str, wait: bool = False,
                              timeout: float = 30.0,
                              settings: Settings | None = None) -> list[str]:
    """Best-effort removal of every topic whose name starts with one of `prefixes` (test,
    demo and benchmark data). With `wait`, returns only once they are gone from metadata,
    so the same names can be created again at once. `settings` supplies the SASL / TLS
    options of a secured cluster (the brokers are still `bootstrap_servers`)."""
    config = confluent_config(settings) if settings is not None else {}
    admin = AdminClient(config | {"bootstrap.servers": bootstrap_servers})
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefixes)]
    if not names:
        return []
    for future in admin.delete_topics(names, operation_timeout=timeout).values():
        with contextlib.suppress(KafkaException):
            future.result(timeout)
    deadline = time.monotonic() + timeout
    while wait and time.monotonic() < deadline and any(
            t in admin.list_topics(timeout=10).topics for t in names):
        time.sleep(0.2)
    return names

