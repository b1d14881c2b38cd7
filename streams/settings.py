"""The one settings object of the project, read from the environment (12-factor).

Every process (worker, sink, CLI, tests) builds its configuration from here, so a
setting has exactly one name, one default and one parser.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

LOCAL_KAFKA_PORT = 9092
LOCAL_CLUSTER_BASE_PORT = 19092
LOCAL_POSTGRES_PORT = 55432
LOCAL_POSTGRES_USER = "sankalp"
LOCAL_POSTGRES_DB = "sankalp"


def local_database_url(port: int = LOCAL_POSTGRES_PORT) -> str:
    return f"postgresql://{LOCAL_POSTGRES_USER}@127.0.0.1:{port}/{LOCAL_POSTGRES_DB}"


class SettingsError(ValueError):
    """A setting in the environment cannot be used; the message names it."""


def _env(name: str, env: Mapping[str, str]) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    # Kafka
    kafka_bootstrap_servers: str = f"127.0.0.1:{LOCAL_KAFKA_PORT}"
    app_id: str = "sankalp"
    topic_prefix: str = ""
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    # Faust worker
    table_store: str = "rocksdb://"
    worker_data_dir: Path = Path(".stack/worker")
    log_level: str = "info"
    # Postgres
    database_url: str = field(default_factory=local_database_url)
    # Local stack (only used when the project starts its own services)
    stack_dir: Path = Path(".stack")
    cache_dir: Path = Path(".cache")
    kafka_version: str = "4.1.1"
    kafka_heap: str = "512m"

    # name in the environment for each field
    ENV_NAMES: ClassVar[dict[str, str]] = {
        "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
        "app_id": "SANKALP_APP_ID",
        "topic_prefix": "SANKALP_TOPIC_PREFIX",
        "topic_partitions": "SANKALP_TOPIC_PARTITIONS",
        "topic_replication_factor": "SANKALP_TOPIC_REPLICATION_FACTOR",
        "table_store": "SANKALP_TABLE_STORE",
        "worker_data_dir": "SANKALP_WORKER_DATA_DIR",
        "log_level": "SANKALP_LOG_LEVEL",
        "database_url": "DATABASE_URL",
        "stack_dir": "SANKALP_STACK_DIR",
        "cache_dir": "SANKALP_CACHE_DIR",
        "kafka_version": "SANKALP_KAFKA_VERSION",
        "kafka_heap": "SANKALP_KAFKA_HEAP",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = cls.ENV_NAMES[f.name]
            raw = _env(name, env)
            if raw is None:
                continue
            values[f.name] = _parse(name, raw, f.type)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.topic_partitions < 1:
            raise SettingsError("SANKALP_TOPIC_PARTITIONS must be at least 1")
        if self.topic_replication_factor < 1:
            raise SettingsError("SANKALP_TOPIC_REPLICATION_FACTOR must be at least 1")
        if not self.table_store.endswith("://"):
            raise SettingsError(
                "SANKALP_TABLE_STORE must be a Faust store URL such as rocksdb:// or memory://"
            )
        if not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("DATABASE_URL must be a postgresql:// URL")

    def topic(self, name: str) -> str:
        """The physical Kafka topic name for a logical one (prefix lets tests isolate)."""
        return f"{self.topic_prefix}{name}"

    def with_overrides(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def _parse(name: str, raw: str, type_name: object) -> object:
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if kind == "Path":
        return Path(raw)
    return raw

