"""Real services for the tests, found in this order:

1. the environment: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL (and KAFKA_CLUSTER_BOOTSTRAP_SERVERS
   for the three-broker tests);
2. testcontainers, when a Docker engine answers a ping;
3. the project's own local stack (Apache Kafka jars + the machine's PostgreSQL), started once
   per test session and stopped at its end unless it was already running.

Every test gets its own topic prefix, Faust app id and Postgres schema, so tests never see
each other's data: the fixtures below are thin, the helpers behind them (for tests that need
another scope) are in tests/kit/settings.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest
from kit.settings import base_settings, fresh_schema, own_topics, schema_url, settings_for

from streams.settings import Settings


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


@pytest.fixture(scope="session")
def local_stack():
    from devstack.stack import LocalStack

    return LocalStack.from_settings(base_settings())


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


@pytest.fixture
def test_settings(request, services, tmp_path) -> Iterator[Settings]:
    """Settings private to one test: its own app id, topic prefix and worker data dir; its
    topics are deleted at the end."""
    with own_topics(settings_for(request.node.name, services, tmp_path)) as settings:
        yield settings


@pytest.fixture
def pg_schema(services) -> Iterator[str]:
    """A fresh schema for one test; the connection URL that selects it is `pg_url`."""
    with fresh_schema(services.database_url) as name:
        yield name


@pytest.fixture
def pg_url(services, pg_schema) -> str:
    """DATABASE_URL for code (or a child process) that must work inside the test's schema."""
    return schema_url(services.database_url, pg_schema)


@pytest.fixture
def pg_conn(pg_url):
    conn = psycopg2.connect(pg_url)
    try:
        yield conn
    finally:
        conn.close()
