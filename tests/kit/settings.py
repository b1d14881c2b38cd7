"""Settings and a Postgres schema private to one test, and free ports.

Every test (or fault-lab run) gets its own Faust app id, topic prefix, worker data and stack
directories, and Postgres schema, so tests never see each other's data. tests/conftest.py
turns these into fixtures; tests that need another scope (a module's worker, a run of the
fault lab, a Kafka of their own) call them directly.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import psycopg2

from streams.admin import delete_topics_with_prefix
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"


class ServicesLike(Protocol):
    kafka_bootstrap_servers: str
    database_url: str


def base_settings() -> Settings:
    """The environment's settings, with the stack and jar cache of this checkout (whichever
    directory pytest runs from) and no fixed metrics port: several workers run at once in
    the suite, and a test that wants an endpoint asks for a free port."""
    return Settings.from_env().with_overrides(
        stack_dir=Path(os.environ.get("SANKALP_STACK_DIR", REPO / ".stack")),
        cache_dir=Path(os.environ.get("SANKALP_CACHE_DIR", REPO / ".cache")),
        metrics_port=0,
        sink_metrics_port=0,
    )


def short_name(test_name: str) -> str:
    """A test's name as it may appear in an app id, a topic or a schema name."""
    return re.sub(r"[^a-z0-9]+", "-", test_name.lower())[:24].strip("-")


def app_id_for(test_name: str, kind: str = "t") -> str:
    """`t-<name>-<random>`: unique, and still telling which test left a topic behind."""
    return f"{kind}-{short_name(test_name)}-{uuid.uuid4().hex[:8]}"


def settings_for(test_name: str, services: ServicesLike | None, tmp_path: Path, *,
                 kind: str = "t", **overrides: object) -> Settings:
    """Settings private to one test: its own app id and topic prefix, its worker data and
    stack directories under `tmp_path`, the Kafka and Postgres of `services` (None: a test
    with services of its own passes them in `overrides`); then `overrides` (a test's clock,
    partitions, another Kafka...)."""
    app_id = app_id_for(test_name, kind)
    where = {} if services is None else {
        "kafka_bootstrap_servers": services.kafka_bootstrap_servers,
        "database_url": services.database_url,
    }
    return base_settings().with_overrides(**{
        **where,
        "app_id": app_id,
        "topic_prefix": f"{app_id}.",
        "topic_partitions": 2,
        "topic_replication_factor": 1,
        "worker_data_dir": tmp_path / "worker",
        "stack_dir": tmp_path / "stack",
        **overrides,
    })


@contextlib.contextmanager
def own_topics(settings: Settings) -> Iterator[Settings]:
    """`settings`, and at the end every topic of its app id deleted (its declared topics
    and Faust's changelogs both start with it). Best effort: a leftover test topic is
    harmless, a failing teardown is noise."""
    try:
        yield settings
    finally:
        delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.app_id)


def schema_url(database_url: str, schema: str) -> str:
    """The URL that makes every connection (and a child process) work inside `schema`."""
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_schema(database_url: str, name: str | None = None,
                 prefix: str = "t_") -> Iterator[str]:
    """A new, empty Postgres schema (`prefix` + random unless `name` is given), dropped with
    everything in it at the end. Work inside it through `schema_url(database_url, name)`.
    The drop is best effort: a test may have stopped that Postgres for good."""
    name = name or f"{prefix}{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(database_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{name}"')
    finally:
        conn.close()
    try:
        yield name
    finally:
        with contextlib.suppress(psycopg2.Error):
            conn = psycopg2.connect(database_url, connect_timeout=5)
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            finally:
                conn.close()


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_pair() -> int:
    """A port p with p + 1 free as well (a Kafka node's broker and controller listeners)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")
