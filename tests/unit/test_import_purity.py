"""Importing the product starts nothing and reads no setting: configuration is passed to
`create_worker(settings)` (and the sink) when a process starts, never read at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import os, sys, threading

read = []

class Recording(dict):
    def __getitem__(self, key):
        read.append(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        read.append(key)
        return super().get(key, default)

    def __contains__(self, key):
        read.append(key)
        return super().__contains__(key)

os.environ = Recording(os.environ)
import agents.deadlines, agents.faust_adapter, agents.intake, agents.lifecycle
import agents.liveness, agents.reading, agents.smoke, agents.worker, agents.factory
import sinks.postgres_sink, streams.cli, devstack.demo, devstack.runners
import faust

ours = sorted({k for k in read if k.startswith(("SANKALP_", "KAFKA_", "DATABASE_"))})
print("read:", ours)
print("threads:", threading.active_count())
apps = [o for o in __import__("gc").get_objects() if isinstance(o, faust.App)]
print("apps:", len(apps))
"""


def test_importing_the_agents_reads_no_setting_and_starts_nothing():
    # settings that would fail to parse: an import that read them would crash
    env = {"PATH": "/usr/bin:/bin", "SANKALP_TOPIC_PARTITIONS": "not-a-number",
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "SANKALP_CLOCK": "sideways"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "read: []" in done.stdout, done.stdout
    assert "threads: 1" in done.stdout, done.stdout
    assert "apps: 0" in done.stdout, done.stdout
