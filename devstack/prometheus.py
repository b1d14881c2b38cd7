"""A real Prometheus server for the local stack, and a small client of its HTTP API.

Debian's `prometheus` binary, started like Kafka and Postgres (pid file, log under
`.stack/logs/`, data under `.stack/prometheus/data`), on 127.0.0.1 only. It loads the very
rule file the compose stack uses (docker/prometheus/alerts.yml) and finds what to scrape in
file_sd target files (`.stack/prometheus/targets/<kind>-<port>.json`): the runners of
devstack/runners.py write one when a worker or sink starts with a metrics port and remove
it when that process is stopped on purpose. A process that crashed keeps its file, so it
shows as `up == 0` (WorkerDown, SinkDown) instead of silently leaving the list.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.process import ServiceError, read_pid, say, spawn, terminate, wait_until

REPO = Path(__file__).resolve().parents[1]
ALERT_RULES = REPO / "docker" / "prometheus" / "alerts.yml"
DASHBOARDS = REPO / "docker" / "grafana" / "dashboards"

# What the runners (and later the HTTP API) announce, and the scrape job each kind is in:
# the job names of docker/prometheus/prometheus.yml, which the alerts and dashboard use.
JOBS = {"worker": "sankalp-worker", "sink": "sankalp-sink", "api": "sankalp-api"}

# The alert group whose rules watch complaints (simulated time in the demo), as opposed to
# the pipeline's processes (always wall time).
COMPLAINT_RULES_GROUP = "sankalp-service"


# --- scrape targets (file_sd) ----------------------------------------------------------------

def targets_dir(stack_dir: Path) -> Path:
    return stack_dir.resolve() / "prometheus" / "targets"


def target_file(stack_dir: Path, kind: str, port: int) -> Path:
    if kind not in JOBS:
        raise ValueError(f"unknown scrape target kind {kind!r}; one of {', '.join(JOBS)}")
    return targets_dir(stack_dir) / f"{kind}-{port}.json"


def write_target(stack_dir: Path, kind: str, port: int,
                 labels: dict[str, str] | None = None) -> Path:
    """Announce a metrics endpoint on 127.0.0.1:`port` to the Prometheus of `stack_dir`."""
    path = target_file(stack_dir, kind, port)
    path.parent.mkdir(parents=True, exist_ok=True)
    group = [{"targets": [f"127.0.0.1:{port}"], "labels": dict(labels or {})}]
    # Written aside and renamed: Prometheus watches the folder and must never read half a file.
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(group) + "\n")
    os.replace(partial, path)
    return path


def remove_target(stack_dir: Path, kind: str, port: int) -> None:
    target_file(stack_dir, kind, port).unlink(missing_ok=True)


def announced_targets(stack_dir: Path) -> list[str]:
    """`kind-port` of every target file there."""
    folder = targets_dir(stack_dir)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


# --- rule files ---------------------------------------------------------------------------

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
          "y": 365 * 86400}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `30m` or `1h30m`."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for `seconds` (whole seconds, at least 1 s)."""
    left = max(1, round(seconds))
    out = ""
    for unit in ("h", "m", "s"):
        count, left = divmod(left, _UNITS[unit])
        if count:
            out += f"{int(count)}{unit}"
    return out


_GROUP_LINE = re.compile(r"^\s*-\s*name:\s*(\S+)")
_ALERT_LINE = re.compile(r"^\s*-\s*alert:\s*(\S+)")
_FOR_LINE = re.compile(r"^(\s*for:\s*)(\S+)(\s*)$")


def rules_with_for(text: str, new_for: Callable[[str, str, float], float]) -> str:
    """The rule file `text` with each alert's `for:` replaced by
    `new_for(group, alert, seconds)`; every expression, label and annotation stays byte for
    byte as written (the demo's time scale and the tests' short waits change nothing else)."""
    group = alert = ""
    out = []
    for line in text.splitlines(keepends=True):
        if match := _GROUP_LINE.match(line):
            group = match[1]
        elif match := _ALERT_LINE.match(line):
            alert = match[1]
        elif match := _FOR_LINE.match(line.rstrip("\n")):
            seconds = new_for(group, alert, parse_duration(match[2]))
            newline = "\n" if line.endswith("\n") else ""
            line = f"{match[1]}{format_duration(seconds)}{match[3]}{newline}"
        out.append(line)
    return "".join(out)


def demo_time_rules(hours_per_second: float, floor_seconds: float,
                    source: Path = ALERT_RULES) -> str:
    """The alert rules for a demo that replays `hours_per_second` simulated hours per wall
    second: a rule about complaints (group sankalp-service) holds for its `for:` in
    simulated time, i.e. `for / (hours_per_second * 3600)` wall seconds, never less than
    `floor_seconds`; the rules about processes (WorkerDown...) keep their wall-clock `for:`."""
    scale = hours_per_second * 3600

    def scaled(group: str, alert: str, seconds: float) -> float:
        if group != COMPLAINT_RULES_GROUP:
            return seconds
        return max(floor_seconds, seconds / scale)

    return rules_with_for(source.read_text(), scaled)


# --- the dashboard's queries ------------------------------------------------------------------

@dataclass(frozen=True)
class PanelQuery:
    panel: str
    expr: str  # with the dashboard's variables set to "all"
    legend: str

    @property
    def legend_labels(self) -> set[str]:
        """The labels the panel's legend shows, e.g. {{department}}."""
        return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", self.legend))


def fill_variables(expr: str, time_range: str = "1h") -> str:
    """A Grafana query as Prometheus runs it: `$__range` a duration, every template
    variable (`$department`) "all" (`.*`, the dashboard's allValue)."""
    expr = expr.replace("$__range", time_range)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def dashboard_queries(time_range: str = "1h", folder: Path = DASHBOARDS) -> list[PanelQuery]:
    queries = []
    for path in sorted(folder.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard.get("panels", []):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    queries.append(PanelQuery(panel["title"],
                                              fill_variables(target["expr"], time_range),
                                              target.get("legendFormat", "")))
    return queries


def dashboard_variables(folder: Path = DASHBOARDS) -> list[tuple[str, str]]:
    """(name, `label_values(...)` query) of each template variable."""
    found = []
    for path in sorted(folder.glob("*.json")):
        for var in json.loads(path.read_text()).get("templating", {}).get("list", []):
            query = var.get("query")
            found.append((var["name"], query["query"] if isinstance(query, dict) else query))
    return found


# --- the server -------------------------------------------------------------------------------

def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class LocalPrometheus:
    home: Path  # <stack_dir>/prometheus: config, data, targets
    logs: Path
    port: int
    binary: str = "prometheus"
    scrape_seconds: float = 5.0  # as docker/prometheus/prometheus.yml
    evaluation_seconds: float = 5.0
    rule_files: tuple[Path, ...] = (ALERT_RULES,)
    targets: Path | None = None  # default <home>/targets (where the runners write)
    retention: str = "15d"
    external_labels: dict[str, str] = field(default_factory=lambda: {"stack": "sankalp-local"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target_folder(self) -> Path:
        return self.targets or self.home / "targets"

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    @property
    def pid_file(self) -> Path:
        return self.home / "prometheus.pid"

    @property
    def log_file(self) -> Path:
        return self.logs / "prometheus.log"

    @property
    def _marker(self) -> str:
        # Ours, not any Prometheus: the command line names our config file.
        return f"--config.file={self.config_file}"

    def config(self, rule_files: Sequence[Path] | None = None) -> dict[str, Any]:
        interval = format_duration(self.scrape_seconds)
        scrape_jobs = [
            {"job_name": job,
             "file_sd_configs": [{"files": [str(self.target_folder / f"{kind}-*.json")],
                                  "refresh_interval": interval}]}
            for kind, job in JOBS.items()
        ]
        scrape_jobs.append({"job_name": "prometheus",
                            "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}]})
        return {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": format_duration(min(4.0, self.scrape_seconds)),
                "evaluation_interval": format_duration(self.evaluation_seconds),
                "external_labels": self.external_labels,
            },
            "rule_files": [str(p) for p in (rule_files or self.rule_files)],
            "scrape_configs": scrape_jobs,
        }

    def write_config(self, rule_files: Sequence[Path] | None = None) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        self.target_folder.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML library needed at run time, and still readable.
        self.config_file.write_text(json.dumps(self.config(rule_files), indent=2) + "\n")
        return self.config_file

    def pid(self) -> int | None:
        return read_pid(self.pid_file, self._marker)

    def is_running(self) -> bool:
        return self.pid() is not None

    def up(self, timeout: float = 60.0) -> str:
        """Start it unless it runs (idempotent); return its URL once it says it is ready."""
        if self.is_running():
            return self.url
        binary = shutil.which(self.binary)
        if binary is None:
            raise ServiceError(
                f"the Prometheus server ({self.binary}) was not found: install Debian's "
                "prometheus package (bash scripts/system-deps.sh), or set "
                "SANKALP_PROMETHEUS_BIN, or SANKALP_PROMETHEUS_PORT=0 to go without")
        if _port_taken(self.port):
            raise ServiceError(
                f"port {self.port} is taken on 127.0.0.1 (a system Prometheus? "
                "`systemctl disable --now prometheus`); set SANKALP_PROMETHEUS_PORT to a "
                "free port")
        self.write_config()
        say(f"starting Prometheus on {self.url}")
        pid = spawn(
            [binary, f"--config.file={self.config_file}",
             f"--storage.tsdb.path={self.home / 'data'}",
             f"--storage.tsdb.retention.time={self.retention}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--web.enable-lifecycle"],
            pid_file=self.pid_file, log_file=self.log_file)
        wait_until(lambda: PrometheusAPI(self.url).ready(), timeout=timeout,
                   what="Prometheus", log_file=self.log_file, pid=pid)
        return self.url

    def use_rules(self, rule_files: Sequence[Path] | None = None,
                  timeout: float = 20.0) -> None:
        """Load other rule files (None: its own) into the running server, and wait until
        it evaluates exactly those."""
        files = [str(p) for p in (rule_files or self.rule_files)]
        self.write_config(rule_files)
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGHUP)  # Prometheus re-reads its config and rules on SIGHUP
        api = PrometheusAPI(self.url)

        def loaded() -> bool:
            return sorted({g["file"] for g in api.rule_groups()}) == sorted(set(files))

        wait_until(loaded, timeout=timeout, what="Prometheus reloading its rules",
                   log_file=self.log_file)

    def down(self, grace: float = 15.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        say(f"stopping Prometheus (pid {pid})")
        terminate(pid, grace=grace)
        self.pid_file.unlink(missing_ok=True)

    def wipe(self) -> None:
        if self.is_running():
            raise ServiceError("Prometheus is running; stop it before wiping its data")
        shutil.rmtree(self.home, ignore_errors=True)

    def describe(self) -> list[str]:
        pid = self.pid()
        state = f"running (pid {pid})" if pid else "stopped"
        folder = self.target_folder
        targets = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        listed = ", ".join(targets) if targets else "none"
        return [f"prometheus: {state} {self.url} log {self.log_file}",
                f"  scrape targets ({folder}): {listed}"]


# --- the HTTP API -----------------------------------------------------------------------------

class PrometheusError(RuntimeError):
    """Prometheus did not answer, or answered with an error (the message says which)."""


class PrometheusAPI:
    """The few read-only calls the demo and the tests make (stdlib only)."""

    def __init__(self, url: str, timeout: float = 3.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._ui_prefix: str | None = None

    def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        query = f"?{urllib.parse.urlencode(list(params))}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}",
                                        timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
            except ValueError:
                raise PrometheusError(f"{path}: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise PrometheusError(f"Prometheus at {self.url} not answering ({exc})") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{path}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=self.timeout) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result: [{"metric": {...labels}, "value": [t, "v"]}, ...]."""
        data = self._get("/api/v1/query", [("query", expr)])
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr}: a {data['resultType']}, not a vector")
        return data["result"]

    def alerts(self) -> list[dict[str, Any]]:
        return self._get("/api/v1/alerts")["alerts"]

    def firing(self) -> dict[str, int]:
        """Alert name -> how many of its label sets fire now."""
        counts: dict[str, int] = {}
        for alert in self.alerts():
            if alert["state"] == "firing":
                name = alert["labels"]["alertname"]
                counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items()))

    def rule_groups(self) -> list[dict[str, Any]]:
        return self._get("/api/v1/rules")["groups"]

    def targets(self) -> list[dict[str, Any]]:
        return self._get("/api/v1/targets")["activeTargets"]

    def label_values(self, label: str, match: str) -> list[str]:
        return self._get(f"/api/v1/label/{label}/values", [("match[]", match)])

    # --- the web UI: Debian's build serves the classic pages under /classic; upstream
    # builds serve the React ones at the root. Both read the same g0.* graph parameters.
    def _ui(self) -> str:
        if self._ui_prefix is None:
            try:
                with urllib.request.urlopen(f"{self.url}/classic/graph",
                                            timeout=self.timeout):
                    self._ui_prefix = "/classic"
            except OSError:
                self._ui_prefix = ""
        return self._ui_prefix

    def page(self, name: str) -> str:
        return f"{self.url}{self._ui()}/{name}"

    def graph_link(self, expr: str, time_range: str = "1h") -> str:
        params = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0",
                                         "g0.range_input": time_range})
        return f"{self.page('graph')}?{params}"


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise TimeoutError(f"{what} not seen within {timeout:.0f}s (last: {last!r})")
