"""A worker started while Kafka is unreachable waits, says so, and works once Kafka appears.

The worker points at free ports where nothing listens; once its log shows it retrying, a
fresh single-node Kafka of the test's own is started on exactly those ports, the topics are
created, and a complaint submitted there must be assigned. The shared stack is not used.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from harness import Pipeline
from kit.settings import free_port_pair, settings_for

from devstack.jars import ensure_kafka_jars, kafka_lib_dir
from devstack.kafka import KafkaCluster
from devstack.runners import WorkerProcess
from schemas.events import ComplaintAssigned
from streams.admin import ensure_topics
from streams.topics import ALL_TOPICS

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST


def wait_for_log(worker: WorkerProcess, pattern: str, times: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.check_healthy()
        log = worker._log_since_start()
        if len(re.findall(pattern, log)) >= times:
            return log
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not {times} times in the worker log within "
                         f"{timeout:.0f}s:\n{worker.tail()}")


@pytest.fixture
def late_kafka(local_stack, tmp_path):
    """A single-node Kafka of this test's own, not started yet: the test decides when."""
    ensure_kafka_jars(local_stack.cache_dir, local_stack.kafka_version)
    cluster = KafkaCluster(
        name="kafka-late", nodes=1, base_port=free_port_pair(), home=tmp_path / "kafka-late",
        logs=tmp_path / "logs", libs=kafka_lib_dir(local_stack.cache_dir,
                                                   local_stack.kafka_version),
        heap=local_stack.kafka_heap)
    try:
        yield cluster
    finally:
        cluster.down()
        cluster.wipe()


def test_worker_waits_for_kafka_then_assigns_complaints(request, late_kafka, tmp_path):
    # not the `services` fixture: neither the shared Kafka nor Postgres is needed
    settings = settings_for(
        request.node.name, None, tmp_path,
        kafka_bootstrap_servers=late_kafka.bootstrap_servers,
        clock="event",
        verification_sample_rate=0.0,
        kafka_wait_seconds=0.0,  # for ever: the test, not the worker, decides when
    )
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    pipeline: Pipeline | None = None
    try:
        # 1. Nothing listens yet: the worker says so, and tries again with a back-off.
        retry = (rf"\[WARNING\] Kafka not reachable at {re.escape(late_kafka.bootstrap_servers)}"
                 r" \(attempt \d+, waited \d+ s\): retrying in \d+ s")
        waiting_log = wait_for_log(worker, retry, times=2, timeout=60)
        assert "Worker ready" not in waiting_log
        # librdkafka's own connection errors (lines like "%3|...|FAIL|") are kept quiet.
        assert "|FAIL|" not in waiting_log, waiting_log

        # 2. Kafka appears on those ports; the topics are created as an operator would.
        late_kafka.up(timeout=120)
        ensure_topics(settings, ALL_TOPICS)
        worker.wait_ready(120)
        assert re.search(r"Kafka reachable at \S+ after \d+ attempts", worker.tail(10_000))

        # 3. The worker works: a complaint is registered and assigned to an officer.
        pipeline = Pipeline(settings, worker)
        pipeline.submit("HP-LATE-0001", T0, category="drinking_water_supply",
                        district="Shimla", block="Theog")
        assigned = pipeline.wait_for("HP-LATE-0001 assigned",
                                     lambda: pipeline.of("HP-LATE-0001", ComplaintAssigned))
        assert assigned[0].level == 1
    finally:
        if pipeline is not None:
            pipeline.close()
        code = worker.stop()
    assert code == 0, worker.tail()
