"""`sankalp worker` and `sankalp sink` as child processes with their output in a log file:
how the demo, the bench, the smoke run and the tests drive real workers and sinks.
(devstack/process.py is the other kind: detached services such as Kafka, found by pid file.)

A process started with a metrics port announces it to the local Prometheus (a file_sd
target file under its settings' stack folder, devstack/prometheus.py) and withdraws it when
stopped on purpose; a killed process keeps it, and shows as down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.prometheus import remove_target, write_target
from streams.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read exactly these settings."""
    return {**os.environ, **settings.to_env()}


class WorkerProcess:
    """`sankalp worker` as a subprocess with its output in a log file."""

    command = "worker"
    # the module run with `python -m`; the test kit runs its own (tests/kit/faulty.py)
    module = "streams.cli"
    target_kind = "worker"  # its scrape job (devstack/prometheus.py JOBS)

    def __init__(self, settings: Settings, log_file: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.log_file = log_file
        self.extra_env = dict(extra_env or {})
        self._proc: subprocess.Popen | None = None
        self._log_offset = 0

    def _log_since_start(self) -> str:
        """This run's part of the log (a restarted worker appends to the same file)."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def metrics_port(self) -> int:
        return self.settings.metrics_port

    def start(self) -> WorkerProcess:
        if self.metrics_port:
            write_target(self.settings.stack_dir, self.target_kind, self.metrics_port,
                         {"app_id": self.settings.app_id})
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", self.module, self.command],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**settings_env(self.settings), **self.extra_env},
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Faust logs 'Worker ready' after recovery, once it consumes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self._proc.returncode}:\n{self.tail()}")
            if "Worker ready" in self._log_since_start():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready within {timeout:.0f}s:\n{self.tail()}")

    def check_healthy(self) -> None:
        """Raise at once if the worker died or one of its agents crashed (Faust restarts a
        crashed agent, which would otherwise hide the error until some timeout)."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self._proc.returncode}:\n{self.tail()}")
        if "Crashed reason=" in self._log_since_start():
            raise RuntimeError(f"an agent crashed in the worker:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.metrics_port:  # stopped on purpose: no longer a target (a kill keeps it)
            remove_target(self.settings.stack_dir, self.target_kind, self.metrics_port)
        if self._proc is None or self._proc.poll() is not None:
            return None if self._proc is None else self._proc.returncode
        self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait()

    def kill(self) -> None:
        """A crash, not a shutdown: no commit, no flush."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self._log_since_start().splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SinkProcess(WorkerProcess):
    """`sankalp sink` as a child process."""

    command = "sink"
    target_kind = "sink"

    @property
    def metrics_port(self) -> int:
        return self.settings.sink_metrics_port

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_healthy()
            if "assigned" in self._log_since_start():
                return
            time.sleep(0.2)
        raise TimeoutError(f"sink not ready within {timeout:.0f}s:\n{self.tail()}")
