"""docs/clients.md is run, block by block and in order, against a real broker and worker,
with only the clients it shows (kcat, confluent-kafka): a client in another stack can
follow it without our code. A block that prints what the pipeline did is re-run until the
output shows it (the worker needs a moment), and must show it within a minute.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from harness import running_worker
from kit.settings import REPO

DOC = REPO / "docs" / "clients.md"

# the block's heading -> what its output must show once the pipeline has done its part
EXPECTED = {
    "1. Submit a complaint": None,
    "2. See what happened to it": r'"event_type":"complaint\.assigned"',
    "3. Move event time on (replays and simulations only)":
        r"watermark 2026-07-01T04:30:00Z on \d+ partitions",
    "4. Read only the escalations": r'"to_level":2',
    "5. Find a dead letter by its complaint id": r'"reason":"unknown block \'Atlantis\'',
}


def blocks() -> list[tuple[str, str, str]]:
    """(heading, language, code) of every fenced block, in order."""
    out: list[tuple[str, str, str]] = []
    heading, language, code = "", None, []
    for line in DOC.read_text().splitlines():
        if language is not None:
            if line.startswith("```"):
                out.append((heading, language, "\n".join(code) + "\n"))
                language, code = None, []
            else:
                code.append(line)
        elif line.startswith("```"):
            language = line[3:].strip()
        elif line.startswith("## "):
            heading = line[3:].strip()
    return out


def run(language: str, code: str, earlier_bash: list[str], env: dict) -> str:
    if language == "python":
        command = [sys.executable, "-c", code]
    else:
        # the variables earlier blocks set (ID=..., BAD=...), then this block
        assignments = [line for block in earlier_bash for line in block.splitlines()
                       if re.match(r"^[A-Z]+=", line)]
        command = ["bash", "-euo", "pipefail", "-c", "\n".join([*assignments, code])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("kcat") is None,
                    reason="kcat is installed by scripts/system-deps.sh")
@pytest.mark.timeout(300)
def test_every_block_of_the_clients_guide_works_as_written(test_settings):
    settings = test_settings.with_overrides(clock="event", tick_interval_seconds=0.1)
    found = blocks()
    assert [heading for heading, _, _ in found] == list(EXPECTED)
    env = {**os.environ, "BOOTSTRAP": settings.kafka_bootstrap_servers,
           "P": settings.topic_prefix}
    with running_worker(settings) as (worker, _pipeline):
        earlier: list[str] = []
        for heading, language, code in found:
            assert language in ("bash", "python"), heading
            expected = EXPECTED[heading]
            deadline = time.monotonic() + 60
            while True:
                output = run(language, code, earlier, env)
                if expected is None or re.search(expected, output):
                    break
                worker.check_healthy()
                assert time.monotonic() < deadline, (
                    f"{heading}: {expected!r} not in the output:\n{output}\n"
                    f"worker log:\n{worker.tail()}")
                time.sleep(1)
            if language == "bash":
                earlier.append(code)
