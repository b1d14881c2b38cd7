"""The sink killed (SIGKILL, a real crash) between writing a batch's rows and committing the
transaction that holds them and their Kafka offsets; then restarted.

Postgres must hold exactly what the committed offsets cover (the killed batch left no
trace), and after the restart every row exactly once: the same tables as a sink that never
crashed, and sink_offset at the end of every partition.
"""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict

import psycopg2
import pytest
from confluent_kafka import TopicPartition
from kit import kafka
from kit.processes import FaultySink
from kit.settings import fresh_schema, schema_url
from test_postgres_sink import count, publish, scenario, table_dump

from devstack.runners import SinkProcess
from sinks.migrate import migrate
from sinks.postgres import connect
from sinks.postgres_sink import TOPIC_KINDS, PostgresSink
from streams.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ALL_TOPICS, COMPLAINT_EVENTS

CRASH_LINE = "failpoint sink.before_commit reached (hit 2): killing this process"

# (topic, partition, offset, value) of every record on the sink's input topics
Log = list[tuple[str, int, int, bytes | None]]


def read_everything(settings: Settings) -> Log:
    """Each input partition from its start to its current end, with offsets."""
    consumer = kafka.consumer(settings, group="crash-reader")  # assigned, not subscribed
    try:
        ends: dict[tuple[str, int], int] = {}
        for name in TOPIC_KINDS:
            topic = settings.topic(name)
            for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                         timeout=10)
                ends[(topic, partition)] = high
        consumer.assign([TopicPartition(t, p, 0) for (t, p), end in ends.items() if end])
        out: Log = []
        deadline = time.monotonic() + 30
        while len(out) < sum(ends.values()) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                out.append((message.topic(), message.partition(), message.offset(),
                            message.value()))
    finally:
        consumer.close()
    assert len(out) == sum(ends.values()), "could not read the input topics back"
    return out


def end_offsets(log: Log) -> dict[tuple[str, int], int]:
    ends: dict[tuple[str, int], int] = {}
    for topic, partition, offset, _ in log:
        ends[(topic, partition)] = max(ends.get((topic, partition), 0), offset + 1)
    return ends


def expected_rows(settings: Settings, log: Log, upto: dict[tuple[str, int], int]) -> dict:
    """What the tables must hold when exactly the records below `upto` are written."""
    kinds = {settings.topic(name): kind for name, kind in TOPIC_KINDS.items()}
    events: set[str] = set()
    versions: dict[str, int] = defaultdict(lambda: -1)
    contacts: set[str] = set()
    for topic, partition, offset, value in log:
        if value is None or offset >= upto.get((topic, partition), 0):
            continue
        record = json.loads(value)
        if kinds[topic] == "events":
            events.add(record["event_id"])
        elif kinds[topic] == "state":
            versions[record["complaint_id"]] = max(versions[record["complaint_id"]],
                                                   record["version"])
        elif kinds[topic] == "contacts":
            contacts.add(record["complaint_id"])
    return {"events": events, "versions": dict(versions), "contacts": contacts}


def actual_rows(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT event_id FROM complaint_event")
        events = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT complaint_id, version FROM complaint_current")
        versions = dict(cur.fetchall())
        cur.execute("SELECT complaint_id FROM citizen_contact")
        contacts = {r[0] for r in cur.fetchall()}
    conn.rollback()
    return {"events": events, "versions": versions, "contacts": contacts}


def stored_offsets(conn, consumer: str) -> dict[tuple[str, int], int]:
    with conn.cursor() as cur:
        cur.execute("SELECT kafka_topic, kafka_partition, next_offset FROM sink_offset "
                    "WHERE consumer = %s", (consumer,))
        rows = {(t, p): o for t, p, o in cur.fetchall()}
    conn.rollback()
    return rows


def wait_until(what: str, check, timeout: float, sink: SinkProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}"
                                 + (f"; sink log:\n{sink.tail()}" if sink else ""))
        time.sleep(0.1)


@pytest.fixture
def crash_settings(test_settings, pg_url):
    # The killed sink never leaves its consumer group: the broker frees its partitions when
    # its session expires, so keep that short (6 s, the broker's minimum) for the restart.
    settings = test_settings.with_overrides(database_url=pg_url, session_timeout_seconds=6.0)
    ensure_topics(settings, ALL_TOPICS)
    conn = connect(pg_url)
    migrate(conn)
    conn.close()
    return settings


@pytest.fixture
def reference_url(services):
    """A second schema, for a sink that never crashes."""
    with fresh_schema(services.database_url, prefix="t_ref_") as name:
        url = schema_url(services.database_url, name)
        conn = connect(url)
        migrate(conn)
        conn.close()
        yield url


def test_sink_killed_before_commit_loses_and_doubles_nothing(crash_settings, pg_url,
                                                             reference_url, tmp_path):
    settings = crash_settings
    consumer_name = f"{settings.app_id}-postgres-sink"
    first_part = scenario(n_complaints=30, prefix="HP-K1")
    second_part = scenario(n_complaints=30, prefix="HP-K2")
    publish(settings, first_part)
    conn = psycopg2.connect(pg_url)
    try:
        # 1. A sink armed to die on its second batch, after writing it, before COMMIT.
        crashing = FaultySink(settings, tmp_path / "sink.log", "sink.before_commit=2").start()
        try:
            # The first batch commits; only then comes the second part, so there surely is
            # a second batch (unless the first part already took two: then it died already).
            wait_until("the first batch committed",
                       lambda: stored_offsets(conn, consumer_name)
                       or crashing._proc.poll() is not None, 60, crashing)
            publish(settings, second_part)
            wait_until("the failpoint to kill the sink",
                       lambda: crashing._proc.poll() is not None, 60, crashing)
        finally:
            crashing.kill()
        assert crashing._proc.returncode == -signal.SIGKILL, crashing.tail()
        assert CRASH_LINE in crashing.tail(), crashing.tail()

        # 2. Postgres holds what the committed offsets cover, and not one row more.
        log = read_everything(settings)
        ends = end_offsets(log)
        committed = stored_offsets(conn, consumer_name)
        assert committed, "the first batch should have committed before the crash"
        assert sum(committed.values()) < sum(ends.values()), "nothing was lost in the crash?"
        assert actual_rows(conn) == expected_rows(settings, log, committed)

        # 3. Restarted without the failpoint, it carries on from the committed offsets.
        restarted = SinkProcess(settings, tmp_path / "sink.log").start()
        try:
            wait_until("the restarted sink to reach the end of every partition",
                       lambda: stored_offsets(conn, consumer_name) == ends, 90, restarted)
        finally:
            assert restarted.stop() == 0, restarted.tail()
        assert "failpoint" not in restarted.tail(200)

        # 4. Every row exactly once: as expected from the topics, and as a sink that never
        # crashed writes them (a second schema, from the beginning of the same topics).
        assert actual_rows(conn) == expected_rows(settings, log, ends)
        events = sum(1 for topic, _, _ in first_part + second_part
                     if topic == COMPLAINT_EVENTS.name)
        assert count(conn, "SELECT count(*) FROM complaint_event") == events
        assert count(conn, "SELECT count(*) FROM complaint_current") == 60
        assert count(conn, "SELECT count(*) FROM citizen_contact") == 60
        reference = PostgresSink(settings.with_overrides(
            database_url=reference_url, app_id=f"{settings.app_id}-ref"))
        reference.run(idle_exit_after=2.0)
        reference_conn = psycopg2.connect(reference_url)
        try:
            assert table_dump(conn) == table_dump(reference_conn)
        finally:
            reference_conn.close()
    finally:
        conn.close()
