"""`stack up | status | down` on ports of its own: idempotent, and down leaves no process."""

from __future__ import annotations

import os
import time
from pathlib import Path

from devstack.process import read_pid
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
    )
    try:
        started = time.monotonic()
        first = stack.up()
        cold = time.monotonic() - started
        print(f"\nfresh single-broker stack + Postgres ready in {cold:.1f}s")
        assert first["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:29092"
        assert first["DATABASE_URL"].endswith("@127.0.0.1:55499/sankalp")
        pids = [*stack.kafka.running_pids().values(),
                read_pid(stack.postgres.pid_file, "postgres")]
        assert all(pids)

        second = stack.up()  # already running: same processes, nothing restarted
        assert second["KAFKA_BOOTSTRAP_SERVERS"] == first["KAFKA_BOOTSTRAP_SERVERS"]
        assert [*stack.kafka.running_pids().values(),
                read_pid(stack.postgres.pid_file, "postgres")] == pids
        status = "\n".join(stack.describe())
        assert "kafka node 1: running" in status
        assert "postgres: running" in status

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
    finally:
        stack.down()  # also when an assertion failed: leave no process or data behind
        stack.wipe()
