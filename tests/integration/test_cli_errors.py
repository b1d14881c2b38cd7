"""Every `sankalp` command that needs Kafka or Postgres, run with the stack "down": the
settings point at ports where nothing listens (the real stack is left alone). Each says in
one line what it could not reach and how to start it, exits with 2, and shows no traceback;
so does a command whose topic or migration is missing, on the real services."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kit.settings import REPO

NOWHERE = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "DATABASE_URL": "postgresql://sankalp@127.0.0.1:1/sankalp",
}
SUBMIT = ["submit", "--category", "drinking_water_supply", "--district", "Shimla",
          "--block", "Theog", "--phone", "9816012345", "--name", "Ram Lal", "--text", "पानी"]

# command -> what it must say it could not reach
COMMANDS = {
    "topics create": (["topics", "create"], "Kafka at 127.0.0.1:1"),
    "submit": (SUBMIT, "Kafka at 127.0.0.1:1"),
    "directory publish": (["directory", "publish"], "Kafka at 127.0.0.1:1"),
    "db migrate": (["db", "migrate"], "Postgres at postgresql://sankalp@127.0.0.1:1/sankalp"),
    "sink": (["sink"], "Postgres at postgresql://sankalp@127.0.0.1:1/sankalp"),
    "smoke": (["smoke"], "Kafka at 127.0.0.1:1"),
    "demo": (["demo", "--no-view"], "Kafka at 127.0.0.1:1"),
    "bench": (["bench", "--scale", "smoke"], "Kafka at 127.0.0.1:1"),
}


def _env(stack_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "DATABASE_", "SANKALP_"))}
    # A stack folder of its own: whatever a command might start would show up there.
    return env | {"SANKALP_STACK_DIR": str(stack_dir), "SANKALP_PROMETHEUS_PORT": "0",
                  "SANKALP_METRICS_PORT": "0", "SANKALP_SINK_METRICS_PORT": "0",
                  "SANKALP_WORKER_DATA_DIR": str(stack_dir / "worker")} | extra


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streams.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def stack_down(tmp_path_factory):
    """Every command at once (each waits about 5 s for a broker that never answers)."""
    stack_dir = tmp_path_factory.mktemp("cli-errors") / "stack"
    started = time.monotonic()
    procs = {name: _start(args, _env(stack_dir, **NOWHERE))
             for name, (args, _) in COMMANDS.items()}
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[name] = (proc.returncode, out, err)
    print(f"\n{len(procs)} commands answered in {time.monotonic() - started:.1f}s")
    return stack_dir, results


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_with_the_stack_down_answers_in_one_line(stack_down, command):
    stack_dir, results = stack_down
    code, out, err = results[command]
    line = _one_line(err)
    assert code == 2, (out, err)
    assert line.startswith(f"sankalp: cannot reach {COMMANDS[command][1]} (")
    assert "`sankalp stack up`" in line
    assert out == ""
    # The demo and the bench start the local stack only when the settings point at it.
    assert not list(stack_dir.glob("**/*.pid"))


def test_the_worker_says_what_it_waits_for_and_gives_up_with_2(tmp_path):
    """A worker waits for Kafka by design (start order does not matter); bounded by
    SANKALP_KAFKA_WAIT_SECONDS, it gives up with 2 and a last line saying what to run."""
    proc = _start(["worker"], _env(tmp_path / "stack", **NOWHERE,
                                   SANKALP_KAFKA_WAIT_SECONDS="2"))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("sankalp: cannot reach Kafka at 127.0.0.1:1 (")
    assert "waiting for up to 2 s" in lines[0]
    assert lines[-1].startswith("sankalp: gave up waiting for Kafka at 127.0.0.1:1")
    assert "`sankalp stack up`" in lines[-1]


def test_a_missing_topic_is_named_with_the_command_that_creates_it(test_settings, tmp_path):
    """The real broker, a topic prefix nobody created."""
    where = {k: v for k, v in test_settings.to_env().items()
             if k.startswith(("KAFKA_", "DATABASE_")) or k == "SANKALP_TOPIC_PREFIX"}
    env = _env(tmp_path / "stack", **where)
    for args, topic in ((SUBMIT, "complaints.submitted.v1"),
                        (["directory", "publish"], "reference.officers.v1")):
        proc = _start(args, env)
        _out, err = proc.communicate(timeout=60)
        line = _one_line(err)
        assert proc.returncode == 2, err
        assert line.startswith(f"sankalp: topic {test_settings.topic(topic)} does not exist")
        assert "`sankalp topics create`" in line


def test_a_sink_on_an_unmigrated_database_says_run_db_migrate(services, pg_url, tmp_path):
    """The real Postgres, a fresh schema without the migrations."""
    env = _env(tmp_path / "stack", KAFKA_BOOTSTRAP_SERVERS=services.kafka_bootstrap_servers,
               DATABASE_URL=pg_url, SANKALP_APP_ID=f"t-unmigrated-{uuid.uuid4().hex[:6]}")
    proc = _start(["sink"], env)
    _out, err = proc.communicate(timeout=60)
    line = _one_line(err)
    assert proc.returncode == 2, err
    assert line.startswith("sankalp: database schema is behind: 0001_complaints")
    assert "run `sankalp db migrate`" in line
