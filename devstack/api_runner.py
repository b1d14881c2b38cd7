"""`sankalp api` as a child process with its output in a log file, like the worker and the
sink of devstack/runners.py: for the tests, and for the demo."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from devstack.runners import WorkerProcess


class ApiProcess(WorkerProcess):
    """`sankalp api` on the settings' SANKALP_API_HOST and SANKALP_API_PORT."""

    command = "api"
    target_kind = "api"  # its scrape job (devstack/prometheus.py JOBS)

    @property
    def metrics_port(self) -> int:
        """The API serves /metrics on its own port."""
        return self.settings.api_port

    @property
    def url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 30.0, *, kafka_and_postgres: bool = False) -> None:
        """Until /healthz answers (the process serves), or with `kafka_and_postgres` until
        /readyz does (both reachable)."""
        path = "/readyz" if kafka_and_postgres else "/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_healthy()
            if self._answers(path):
                return
            time.sleep(0.1)
        raise TimeoutError(f"API not answering {path} within {timeout:.0f}s:\n{self.tail()}")
