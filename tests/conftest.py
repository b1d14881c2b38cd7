"""Real services for the tests, found in this order:

1. the environment: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL (and KAFKA_CLUSTER_BOOTSTRAP_SERVERS
   for the three-broker tests);
2. testcontainers, when a Docker engine answers a ping;
3. the project's own local stack (Apache Kafka jars + the machine's PostgreSQL), started once
   per test session and stopped at its end unless it was already running.

Every test gets its own topic prefix, Faust app id and Postgres schema, so tests never see
each other's data.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from streams.admin import delete_topics_with_prefix
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _say(message: str) -> None:
    print(f"\n[services] {message}", flush=True)


def docker_engine_answers() -> bool:
    """Ping the engine; a `docker` binary on PATH proves nothing (the client ships alone)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@dataclass
class Services:
    kafka_bootstrap_servers: str
    database_url: str
    source: str


def _base_settings() -> Settings:
    # The stack and jar cache live in the checkout, whichever directory pytest runs from.
    return Settings.from_env().with_overrides(
        stack_dir=Path(os.environ.get("SANKALP_STACK_DIR", REPO / ".stack")),
        cache_dir=Path(os.environ.get("SANKALP_CACHE_DIR", REPO / ".cache")),
        # Several workers run at once in the suite: no fixed metrics port unless a test
        # asks for one.
        metrics_port=0,
        sink_metrics_port=0,
    )


@pytest.fixture(scope="session")
def local_stack():
    from devstack.stack import LocalStack

    return LocalStack.from_settings(_base_settings())


@pytest.fixture(scope="session")
def services(request, local_stack) -> Iterator[Services]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("DATABASE_URL")
    cleanups = []
    source = "environment"
    if (not kafka or not database) and docker_engine_answers():
        source = "testcontainers"
        if not kafka:
            from testcontainers.kafka import KafkaContainer

            image = os.environ.get("SANKALP_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")
            container = KafkaContainer(image).with_kraft().start()
            cleanups.append(container.stop)
            kafka = container.get_bootstrap_server()
        if not database:
            from testcontainers.postgres import PostgresContainer

            container = PostgresContainer("postgres:15", driver=None).start()
            cleanups.append(container.stop)
            database = container.get_connection_url()
    if not kafka or not database:
        source = "local stack"
        kafka_running = local_stack.kafka.is_running()
        pg_running = local_stack.postgres.is_running()
        addresses = local_stack.up(kafka=not kafka, postgres=not database)
        _say(f"local stack ready in {addresses['ready_in_seconds']}s "
             f"(logs in {local_stack.logs})")
        kafka = kafka or addresses["KAFKA_BOOTSTRAP_SERVERS"]
        database = database or addresses["DATABASE_URL"]
        keep = os.environ.get("SANKALP_KEEP_STACK") == "1"
        if not kafka_running and not keep:
            cleanups.append(local_stack.kafka.down)
        if not pg_running and not keep:
            cleanups.append(local_stack.postgres.down)
    _say(f"Kafka {kafka}, Postgres {re.sub(r'//[^@]*@', '//', database)} ({source})")
    try:
        yield Services(kafka, database, source)
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


@pytest.fixture(scope="session")
def cluster_bootstrap_servers(local_stack) -> Iterator[str]:
    """The three-broker cluster (replication factor 3, min.insync.replicas=2)."""
    configured = os.environ.get("KAFKA_CLUSTER_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from devstack.jars import ensure_kafka_jars

    ensure_kafka_jars(local_stack.cache_dir, local_stack.kafka_version)
    was_running = local_stack.cluster.is_running()
    servers = local_stack.cluster.up()
    try:
        yield servers
    finally:
        if not was_running and os.environ.get("SANKALP_KEEP_STACK") != "1":
            local_stack.cluster.down()


def _short_test_name(request) -> str:
    return re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:24].strip("-")


@pytest.fixture
def test_settings(request, services, tmp_path) -> Iterator[Settings]:
    """Settings private to one test: its own app id, topic prefix and worker data dir."""
    app_id = f"t-{_short_test_name(request)}-{uuid.uuid4().hex[:8]}"
    settings = _base_settings().with_overrides(
        kafka_bootstrap_servers=services.kafka_bootstrap_servers,
        database_url=services.database_url,
        app_id=app_id,
        topic_prefix=f"{app_id}.",
        topic_partitions=2,
        topic_replication_factor=1,
        worker_data_dir=tmp_path / "worker",
        stack_dir=tmp_path / "stack",
    )
    yield settings
    delete_topics_starting_with(services.kafka_bootstrap_servers, app_id)


def delete_topics_starting_with(bootstrap_servers: str, prefix: str) -> None:
    # Best effort: a leftover test topic is harmless, a failing teardown is noise.
    delete_topics_with_prefix(bootstrap_servers, prefix)


@pytest.fixture
def pg_schema(services) -> Iterator[str]:
    """A fresh schema for one test; the connection URL that selects it is `schema_url`."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(services.database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{name}" CASCADE')
        conn.close()


@pytest.fixture
def pg_conn(services, pg_schema):
    conn = psycopg2.connect(services.database_url, options=f"-c search_path={pg_schema}")
    try:
        yield conn
    finally:
        conn.close()


def schema_url(database_url: str, schema: str) -> str:
    """The URL that makes every connection (and a child process) work inside `schema`."""
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{schema}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pg_url(services, pg_schema) -> str:
    """DATABASE_URL for code (or a child process) that must work inside the test's schema."""
    return schema_url(services.database_url, pg_schema)
