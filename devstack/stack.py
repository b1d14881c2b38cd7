"""The local stack as one thing to bring up, inspect and take down: Kafka, Postgres and
(with `sankalp stack up` and the demo) a Prometheus that scrapes the local processes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from devstack.jars import ensure_kafka_jars, kafka_lib_dir
from devstack.kafka import KafkaCluster
from devstack.postgres import LocalPostgres
from devstack.process import ServiceError, say
from devstack.prometheus import LocalPrometheus
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
    prometheus_port: int = Settings.prometheus_port  # 0: no Prometheus
    prometheus_bin: str = Settings.prometheus_bin

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalStack:
        return cls(
            stack_dir=settings.stack_dir.resolve(),
            cache_dir=settings.cache_dir.resolve(),
            kafka_version=settings.kafka_version,
            kafka_heap=settings.kafka_heap,
            prometheus_port=settings.prometheus_port,
            prometheus_bin=settings.prometheus_bin,
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

    @property
    def prometheus(self) -> LocalPrometheus:
        return LocalPrometheus(home=self.stack_dir / "prometheus", logs=self.logs,
                               port=self.prometheus_port, binary=self.prometheus_bin)

    def up(self, *, kafka: bool = True, cluster: bool = False, postgres: bool = True,
           prometheus: bool = False) -> dict[str, str]:
        """Start what is asked for (idempotent); return the addresses to connect to.

        Prometheus only when asked (`stack up`, the demo): the test session's stack has no
        use for it, and would leave it running. It is an add-on: when it cannot start (no
        binary, port taken), the rest still comes up and the reason is said once."""
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
        if prometheus and self.prometheus_port:
            try:
                addresses["prometheus"] = self.prometheus.up()
            except ServiceError as exc:
                say(f"Prometheus not started: {exc}")
        addresses["ready_in_seconds"] = f"{time.monotonic() - started:.1f}"
        return addresses

    def down(self) -> None:
        self.prometheus.down()
        self.cluster.down()
        self.kafka.down()
        self.postgres.down()

    def wipe(self) -> None:
        self.prometheus.wipe()
        self.cluster.wipe()
        self.kafka.wipe()
        self.postgres.wipe()

    def describe(self) -> list[str]:
        shown = [*self.kafka.describe(), *self.cluster.describe(), *self.postgres.describe()]
        if self.prometheus_port:
            shown += self.prometheus.describe()
        return shown
