"""The local stack as one thing to bring up, inspect and take down."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from devstack.jars import ensure_kafka_jars, kafka_lib_dir
from devstack.kafka import KafkaCluster
from devstack.postgres import LocalPostgres
from streams.settings import (
    LOCAL_CLUSTER_BASE_PORT,
    LOCAL_KAFKA_PORT,
    LOCAL_POSTGRES_PORT,
    Settings,
)


@dataclass(frozen=True)
class LocalStack:
    stack_dir: Path
    cache_dir: Path
    kafka_version: str
    kafka_heap: str = "512m"
    kafka_port: int = LOCAL_KAFKA_PORT
    cluster_base_port: int = LOCAL_CLUSTER_BASE_PORT
    postgres_port: int = LOCAL_POSTGRES_PORT

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalStack:
        return cls(
            stack_dir=settings.stack_dir.resolve(),
            cache_dir=settings.cache_dir.resolve(),
            kafka_version=settings.kafka_version,
            kafka_heap=settings.kafka_heap,
        )

    @property
    def logs(self) -> Path:
        return self.stack_dir / "logs"

    def _kafka(self, name: str, nodes: int, base_port: int) -> KafkaCluster:
        return KafkaCluster(
            name=name,
            nodes=nodes,
            base_port=base_port,
            home=self.stack_dir / name,
            logs=self.logs,
            libs=kafka_lib_dir(self.cache_dir, self.kafka_version),
            heap=self.kafka_heap,
        )

    @property
    def kafka(self) -> KafkaCluster:
        """The single-broker cluster everyday work and most tests use."""
        return self._kafka("kafka", 1, self.kafka_port)

    @property
    def cluster(self) -> KafkaCluster:
        """Three brokers, replication factor 3, min.insync.replicas=2."""
        return self._kafka("kafka-cluster", 3, self.cluster_base_port)

    @property
    def postgres(self) -> LocalPostgres:
        return LocalPostgres(home=self.stack_dir / "postgres", logs=self.logs,
                             port=self.postgres_port)

    def up(self, *, kafka: bool = True, cluster: bool = False, postgres: bool = True
           ) -> dict[str, str]:
        """Start what is asked for (idempotent); return the addresses to connect to."""
        started = time.monotonic()
        addresses: dict[str, str] = {}
        if kafka or cluster:
            ensure_kafka_jars(self.cache_dir, self.kafka_version)
        if kafka:
            addresses["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.up()
        if cluster:
            addresses["KAFKA_CLUSTER_BOOTSTRAP_SERVERS"] = self.cluster.up()
        if postgres:
            addresses["DATABASE_URL"] = self.postgres.up()
        addresses["ready_in_seconds"] = f"{time.monotonic() - started:.1f}"
        return addresses

    def down(self) -> None:
        self.cluster.down()
        self.kafka.down()
        self.postgres.down()

    def wipe(self) -> None:
        self.cluster.wipe()
        self.kafka.wipe()
        self.postgres.wipe()

    def describe(self) -> list[str]:
        return [*self.kafka.describe(), *self.cluster.describe(), *self.postgres.describe()]
