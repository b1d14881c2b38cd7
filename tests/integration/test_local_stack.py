"""`stack up | status | down` on ports of its own: idempotent, and down leaves no process
(Kafka, Postgres and Prometheus)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kit.settings import free_port

from devstack.process import read_pid
from devstack.prometheus import PrometheusAPI, wait_for, write_target
from devstack.stack import LocalStack


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _states(pids: list[int]) -> dict[int, str]:
    out = {}
    for pid in pids:
        try:
            out[pid] = Path(f"/proc/{pid}/stat").read_text()[:80]
        except OSError as exc:
            out[pid] = str(exc)
    return out


def test_stack_up_is_idempotent_and_down_leaves_nothing(local_stack, tmp_path):
    stack = LocalStack(
        stack_dir=tmp_path / "stack",
        cache_dir=local_stack.cache_dir,
        kafka_version=local_stack.kafka_version,
        kafka_port=29092,
        postgres_port=55499,
        prometheus_port=free_port(),
    )
    try:
        started = time.monotonic()
        first = stack.up(prometheus=True)
        cold = time.monotonic() - started
        print(f"\nfresh single-broker stack + Postgres ready in {cold:.1f}s")
        assert first["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:29092"
        assert first["DATABASE_URL"].endswith("@127.0.0.1:55499/sankalp")
        assert first["prometheus"] == f"http://127.0.0.1:{stack.prometheus_port}"
        pids = [*stack.kafka.running_pids().values(),
                read_pid(stack.postgres.pid_file, "postgres"), stack.prometheus.pid()]
        assert all(pids)
        # its data and config under the stack folder; the compose stack's rule file
        assert (tmp_path / "stack" / "prometheus" / "data").is_dir()
        api = PrometheusAPI(first["prometheus"])
        groups = {g["name"] for g in api.rule_groups()}
        assert groups == {"sankalp-service", "sankalp-pipeline"}
        # a target announced in the stack folder is scraped (nothing listens there: down)
        write_target(tmp_path / "stack", "sink", 1)
        target = wait_for(lambda: [t for t in api.targets()
                                   if t["labels"]["job"] == "sankalp-sink"
                                   and t["health"] == "down"], 30, "the announced sink")
        assert target[0]["labels"]["instance"] == "127.0.0.1:1"

        second = stack.up(prometheus=True)  # already running: same processes
        assert second["KAFKA_BOOTSTRAP_SERVERS"] == first["KAFKA_BOOTSTRAP_SERVERS"]
        assert [*stack.kafka.running_pids().values(),
                read_pid(stack.postgres.pid_file, "postgres"), stack.prometheus.pid()] == pids
        status = "\n".join(stack.describe())
        assert "kafka node 1: running" in status
        assert "postgres: running" in status
        assert f"prometheus: running (pid {pids[-1]}) {first['prometheus']}" in status
        assert "sink-1" in status  # the announced targets

        stack.down()
        assert [pid for pid in pids if _alive(pid)] == [], _states(pids)
        assert "kafka node 1: stopped" in "\n".join(stack.describe())

        # Restart on the same data (warm): the broker keeps its cluster id and topics.
        started = time.monotonic()
        stack.up()
        print(f"restart on existing data ready in {time.monotonic() - started:.1f}s")
        stack.down()
        stack.wipe()
        assert not (tmp_path / "stack" / "kafka").exists()
        assert not (tmp_path / "stack" / "prometheus").exists()
    finally:
        stack.down()  # also when an assertion failed: leave no process or data behind
        stack.wipe()
