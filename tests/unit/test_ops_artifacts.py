"""Offline checks of the operations artifacts in docker/ (no Docker engine needed).

What is checked: every YAML file and the dashboard parse; the compose file's build paths,
host mounts, `sankalp` commands and environment names agree with the code; the Prometheus
config, alert rules and dashboard use only metrics the code declares (sinks/metrics.py) and
valid PromQL; promtool checks the rules and runs their unit tests (alerts_test.yml).
What is not: that the images build and the stack starts (that needs a Docker engine).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from sinks.metrics import Metrics
from streams.cli import build_parser
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
PROMETHEUS_DIR = DOCKER / "prometheus"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DASHBOARD_FILE = DOCKER / "grafana" / "dashboards" / "sankalp.json"
DATASOURCES_FILE = DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS_FILE = DOCKER / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"

# The console commands the containers may run (the brief's list; each must also parse with
# the real CLI's argument parser).
SANKALP_COMMANDS = {
    ("topics", "create"), ("directory", "publish"), ("worker",), ("sink",), ("db", "migrate"),
    ("api",),
}
SANKALP_SERVICES = ("topics", "migrate", "worker", "sink", "api")
# Environment names allowed on those services besides Settings.ENV_NAMES, each with its reason.
WELL_KNOWN_ENV = {
    "PYTHONUNBUFFERED": "Python's own switch: log lines leave the container at once",
}
SCRAPE_JOBS = {"sankalp-worker": ("worker", 9109, "SANKALP_METRICS_PORT"),
               "sankalp-sink": ("sink", 9108, "SANKALP_SINK_METRICS_PORT")}
REQUIRED_ALERTS = {
    "SlaComplianceBelowTarget", "EscalationBacklog", "OverdueAtStateLevel", "ConsumerLagHigh",
    "DeadLetterRateHigh", "WorkerDown", "SinkDown",
}
# Panel titles (lower case) must contain each of these.
REQUIRED_PANELS = (
    "sla compliance by department", "sla compliance by district", "open complaints by level",
    "escalations per hour by cause", "lapses by department", "lapses by district",
    "time to resolution", "escalation delay p99", "consumer lag", "dead letters",
    "processing latency p99",
)

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan", "atan2",
    # aggregation operators may stand before their `by (...)` clause
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "limitk", "limit_ratio",
}


# --- helpers ------------------------------------------------------------------------------

def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


def declared_metric_names() -> set[str]:
    """Every series name the project's registry exposes (sinks/metrics.py)."""
    names = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def allowed_metric(name: str, declared: set[str]) -> bool:
    return name in declared or name.startswith("faust_") or name == "up"


def grafana_to_promql(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced, so promtool can parse it."""
    expr = re.sub(r"\$__(?:range|rate_interval|interval)\b", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def service_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate(value: str) -> str:
    """Compose's ${NAME:-default} with nothing set in the environment: the default."""
    return re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value)


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host path as written, container path) of a service's bind mounts."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
            continue
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/", "~")):
            mounts.append((source, target))
    return mounts


def host_path(service: dict, container_path: str) -> Path | None:
    """Where a path inside the container comes from on the host, through its bind mounts."""
    wanted = PurePosixPath(container_path)
    for source, target in bind_mounts(service):
        target_path = PurePosixPath(target)
        if wanted == target_path or target_path in wanted.parents:
            return (DOCKER / source / wanted.relative_to(target_path)).resolve()
    return None


def command_lines(command) -> list[list[str]]:
    """The simple commands a service runs (a `sh -c` script split at && ; ||; a leading
    `exec`, which hands the shell's process and its signals to the command, dropped)."""
    if command is None:
        return []
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    if len(words) >= 3 and words[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and "-c" in words:
        script = words[words.index("-c") + 1]
        lines = [shlex.split(part) for part in re.split(r"&&|\|\||;", script) if part.strip()]
        return [line[1:] if line[:1] == ["exec"] else line for line in lines]
    return [words]


def assert_sankalp_command(words: list[str], where: str) -> None:
    args = words[1:]
    positional = [a for a in args if not a.startswith("-")]
    assert any(tuple(positional) == allowed for allowed in SANKALP_COMMANDS), (
        f"{where}: `{' '.join(words)}` is not one of the sankalp commands "
        f"{sorted(' '.join(c) for c in SANKALP_COMMANDS)}")
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:  # argparse exits on an unknown command
        raise AssertionError(f"{where}: the CLI does not accept `{' '.join(words)}`") from exc


def duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[smhdwy])", text):
        total += int(number) * units[unit]
    return total


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not on PATH: run scripts/system-deps.sh (it installs Debian's "
                    "prometheus package, which ships promtool), then run the tests again")
    return path


def run_promtool(*args: str, cwd: Path) -> None:
    result = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, (
        f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def alert_rules() -> list[dict]:
    doc = load_yaml(PROMETHEUS_DIR / "alerts.yml")
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict:
    return json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))


def dashboard_panels() -> list[dict]:
    panels = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows keep theirs inside
    return panels


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expression) of every query on the dashboard."""
    return [(p["title"], t["expr"]) for p in dashboard_panels() for t in p.get("targets", [])
            if t.get("expr")]


# --- parsing --------------------------------------------------------------------------------

YAML_FILES = sorted([*DOCKER.rglob("*.yml"), *DOCKER.rglob("*.yaml")])


def test_the_ops_files_exist():
    for path in (COMPOSE_FILE, DOCKERFILE, DASHBOARD_FILE, DATASOURCES_FILE, PROVIDERS_FILE,
                 PROMETHEUS_DIR / "prometheus.yml", PROMETHEUS_DIR / "alerts.yml",
                 PROMETHEUS_DIR / "alerts_test.yml", DOCKER / "README.md"):
        assert path.is_file(), f"missing {path.relative_to(REPO)}"
    assert len(YAML_FILES) >= 6


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DOCKER)))
def test_every_yaml_file_parses(path):
    assert isinstance(load_yaml(path), dict), f"{path.name}: not a YAML mapping"


def test_the_dashboard_is_json_with_unique_panel_ids():
    doc = dashboard()
    assert doc["uid"] and doc["title"]
    ids = [p["id"] for p in dashboard_panels()]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in dashboard_panels():
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]


# --- compose --------------------------------------------------------------------------------

def test_compose_has_every_service():
    assert set(compose()["services"]) >= {
        "kafka", "postgres", "topics", "migrate", "worker", "sink", "prometheus", "grafana"}


def test_compose_images_are_the_agreed_ones():
    services = compose()["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["grafana"]["image"].startswith("grafana/grafana")


def test_compose_builds_from_the_repository_with_docker_dockerfile():
    services = compose()["services"]
    for name in SANKALP_SERVICES:
        build = services[name].get("build")
        assert build, f"{name}: no build section"
        context = (DOCKER / build["context"]).resolve()
        assert context == REPO, f"{name}: build context {context} is not the repository root"
        dockerfile = context / build["dockerfile"]
        assert dockerfile.resolve() == DOCKERFILE.resolve(), f"{name}: dockerfile {dockerfile}"
        assert dockerfile.is_file()


def test_every_host_path_mounted_exists():
    doc = compose()
    declared_volumes = set(doc.get("volumes") or {})
    for name, service in doc["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/", "~")):
                path = (DOCKER / source).resolve()
                assert path.exists(), f"{name}: mounted host path {source} ({path}) is missing"
            else:
                assert source in declared_volumes, f"{name}: volume {source} not declared"


def test_every_sankalp_command_is_a_real_one():
    seen = set()
    for name, service in compose()["services"].items():
        for words in command_lines(service.get("command")):
            if words and words[0] == "sankalp":
                assert_sankalp_command(words, f"service {name}")
                seen.add(tuple(w for w in words[1:] if not w.startswith("-")))
    assert seen == SANKALP_COMMANDS, f"compose runs {seen}, expected all of {SANKALP_COMMANDS}"
    services = compose()["services"]
    assert command_lines(services["topics"]["command"]) == [
        ["sankalp", "topics", "create"], ["sankalp", "directory", "publish"]]


def test_the_sankalp_services_set_only_settings_names():
    names = set(Settings.ENV_NAMES.values())
    services = compose()["services"]
    for service_name in SANKALP_SERVICES:
        env = service_env(services[service_name])
        unknown = set(env) - names - set(WELL_KNOWN_ENV)
        assert not unknown, f"{service_name}: {sorted(unknown)} are not in Settings.ENV_NAMES"
        # and the values are ones the settings object accepts
        settings = Settings.from_env({k: interpolate(v) for k, v in env.items()})
        assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_the_sankalp_services_reach_the_compose_kafka_and_postgres():
    services = compose()["services"]
    kafka_env = service_env(services["kafka"])
    postgres_env = service_env(services["postgres"])
    for name in SANKALP_SERVICES:
        settings = Settings.from_env({k: interpolate(v)
                                      for k, v in service_env(services[name]).items()})
        for server in settings.kafka_bootstrap_servers.split(","):
            assert f"://{server}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"], (name, server)
        url = settings.database_url
        assert "@postgres:5432/" in url, (name, url)
        assert url.endswith("/" + postgres_env["POSTGRES_DB"])
        assert f"//{postgres_env['POSTGRES_USER']}:{postgres_env['POSTGRES_PASSWORD']}@" in url


def test_kafka_runs_kraft_combined_with_a_valid_cluster_id():
    env = service_env(compose()["services"]["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    cluster_id = env["CLUSTER_ID"]
    try:
        raw = base64.urlsafe_b64decode(cluster_id + "=" * (-len(cluster_id) % 4))
    except ValueError:
        raw = b""
    assert len(cluster_id) == 22 and len(raw) == 16, (
        f"CLUSTER_ID {cluster_id!r} must be a base64url UUID (kafka-storage random-uuid)")


def test_depends_on_conditions_make_sense():
    services = compose()["services"]
    for name, service in services.items():
        for other, spec in (service.get("depends_on") or {}).items():
            assert other in services, f"{name} depends on unknown {other}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[other], f"{name}: {other} has no healthcheck"
            elif condition == "service_completed_successfully":
                assert services[other].get("restart", "no") == "no", (
                    f"{name}: {other} must be a one-shot job")
    assert "topics" in services["worker"]["depends_on"]
    assert {"topics", "migrate"} <= set(services["sink"]["depends_on"])


def test_metrics_ports_agree_with_the_scrape_targets():
    services = compose()["services"]
    for service_name, port, env_name in SCRAPE_JOBS.values():
        assert service_env(services[service_name])[env_name] == str(port)


# --- Dockerfile -----------------------------------------------------------------------------

def test_the_dockerfile():
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line.strip() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "COPY . /app" in instructions
    assert re.search(r"^RUN pip install /app\b", text, re.MULTILINE)
    users = [i.split()[1] for i in instructions if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    exposed = {p for i in instructions if i.startswith("EXPOSE ") for p in i.split()[1:]}
    assert exposed == {"9108", "9109"}
    cmd = json.loads(next(i for i in instructions if i.startswith("CMD "))[4:])
    assert cmd == ["sankalp", "worker"]
    assert_sankalp_command(cmd, "Dockerfile CMD")
    for line in instructions:
        if line.startswith("ENV "):
            for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", line):
                if name.startswith(("SANKALP_", "KAFKA_", "DATABASE_")):
                    assert name in Settings.ENV_NAMES.values(), name


def test_the_build_context_leaves_out_local_state():
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", ".stack", ".cache"):
        assert entry in ignore, f"{entry} would be copied into the image"


# --- Prometheus -----------------------------------------------------------------------------

def prometheus_config() -> dict:
    return load_yaml(PROMETHEUS_DIR / "prometheus.yml")


def test_prometheus_config_scrapes_both_jobs_every_few_seconds():
    config = prometheus_config()
    # an event must show in the metrics within 5 s
    assert duration_seconds(config["global"]["scrape_interval"]) <= 5, "scrape_interval > 5s"
    assert duration_seconds(config["global"]["evaluation_interval"]) <= 10, (
        "evaluation_interval > 10s")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    service_names = set(compose()["services"])
    for job_name, (service_name, port, _) in SCRAPE_JOBS.items():
        job = jobs[job_name]
        assert duration_seconds(job.get("scrape_interval", "5s")) <= 5, job_name
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        assert targets == [f"{service_name}:{port}"], (job_name, targets)
        for target in targets:
            host, _, target_port = target.partition(":")
            assert host in service_names and int(target_port) in (9108, 9109)


def test_prometheus_rule_files_resolve_through_the_mount():
    prometheus = compose()["services"]["prometheus"]
    config_path = host_path(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_path == (PROMETHEUS_DIR / "prometheus.yml").resolve()
    for rule_file in prometheus_config()["rule_files"]:
        assert PurePosixPath(rule_file).is_absolute(), rule_file
        path = host_path(prometheus, rule_file)
        assert path is not None, f"{rule_file} is not under a mounted folder"
        assert path.parent == PROMETHEUS_DIR.resolve() and path.is_file(), (rule_file, path)


def test_promtool_accepts_the_config(tmp_path):
    """The real config, its rule files pointed at their host copies."""
    prometheus = compose()["services"]["prometheus"]
    config = prometheus_config()
    config["rule_files"] = [str(host_path(prometheus, f)) for f in config["rule_files"]]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    run_promtool("check", "config", str(copy), cwd=tmp_path)


def test_promtool_checks_the_rules():
    run_promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS_DIR)


def test_promtool_rule_unit_tests_pass():
    run_promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)


def test_every_alert_is_there_with_for_severity_and_text():
    rules = alert_rules()
    names = {r["alert"] for r in rules}
    assert names == REQUIRED_ALERTS, (
        f"missing {sorted(REQUIRED_ALERTS - names)}, unexpected {sorted(names - REQUIRED_ALERTS)}")
    for rule in rules:
        assert duration_seconds(str(rule.get("for", ""))) > 0, f"{rule['alert']}: no for:"
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        for key in ("summary", "description"):
            assert len(rule["annotations"].get(key, "").strip()) > 20, (rule["alert"], key)


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    doc = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    assert doc["rule_files"] == ["alerts.yml"]
    fires, quiet = set(), set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fires == REQUIRED_ALERTS, f"no firing case for {REQUIRED_ALERTS - fires}"
    assert quiet == REQUIRED_ALERTS, f"no must-not-fire case for {REQUIRED_ALERTS - quiet}"


def test_alerts_use_only_declared_metrics():
    declared = declared_metric_names()
    used = set()
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        unknown = {n for n in names if not allowed_metric(n, declared)}
        assert not unknown, f"{rule['alert']} uses undeclared metrics {sorted(unknown)}"
        used |= names
    assert {"sankalp_sla_compliance_ratio", "sankalp_complaints_open",
            "sankalp_complaints_overdue", "sankalp_consumer_lag_messages",
            "sankalp_dead_letters_total", "sankalp_sink_postgres_up", "up"} <= used


def test_the_metric_name_extraction_itself():
    expr = ('histogram_quantile(0.9, sum by (le) (rate(sankalp_time_to_resolution_seconds_bucket'
            '{department=~"$department", level="4"}[6h]))) > on (job) group_left up offset 5m'
            ' or sum without (instance) (faust_x_total) * 60 > bool 1e3')
    assert metric_names(expr) == {"sankalp_time_to_resolution_seconds_bucket", "up",
                                  "faust_x_total"}
    declared = declared_metric_names()
    assert {"sankalp_complaints_registered_total", "sankalp_sla_compliance_ratio",
            "sankalp_processing_latency_seconds_bucket", "sankalp_sink_postgres_up"} <= declared
    assert "sankalp_complaints_registered" not in declared


# --- Grafana --------------------------------------------------------------------------------

def datasource_uid() -> str:
    (datasource,) = load_yaml(DATASOURCES_FILE)["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    return datasource["uid"]


def test_grafana_provisioning_points_at_the_mounted_dashboards():
    grafana = compose()["services"]["grafana"]
    assert host_path(grafana, "/etc/grafana/provisioning/datasources/prometheus.yml") == (
        DATASOURCES_FILE.resolve())
    assert host_path(grafana, "/etc/grafana/provisioning/dashboards/dashboards.yml") == (
        PROVIDERS_FILE.resolve())
    (provider,) = load_yaml(PROVIDERS_FILE)["providers"]
    assert provider["type"] == "file"
    folder = host_path(grafana, provider["options"]["path"])
    assert folder == DASHBOARD_FILE.parent.resolve(), (
        f"the provider reads {provider['options']['path']}, which is {folder} on the host")
    assert (folder / DASHBOARD_FILE.name).is_file()
    home = service_env(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert host_path(grafana, home) == DASHBOARD_FILE.resolve()


def test_every_panel_and_query_uses_the_provisioned_datasource():
    uid = datasource_uid()
    for panel in dashboard_panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
    for variable in dashboard()["templating"]["list"]:
        assert variable["datasource"]["uid"] == uid, variable["name"]


def test_the_dashboard_has_the_required_panels():
    titles = [p["title"].lower() for p in dashboard_panels()]
    for wanted in REQUIRED_PANELS:
        assert any(wanted in title for title in titles), f"no panel for {wanted!r}"
    exprs = " ".join(e for _, e in dashboard_exprs())
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.9," in exprs
    assert 'cause="deadline_missed"' in exprs


def test_the_dashboard_uses_only_declared_metrics():
    declared = declared_metric_names()
    for title, expr in dashboard_exprs():
        names = metric_names(expr)
        assert names, f"{title}: no metric found in {expr!r}"
        unknown = {n for n in names if not allowed_metric(n, declared)}
        assert not unknown, f"panel {title!r} uses undeclared metrics {sorted(unknown)}"
    for variable in dashboard()["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else (
            variable["query"])
        match = re.match(r"label_values\(\s*([A-Za-z_:][\w:]*)", query)
        assert match and allowed_metric(match.group(1), declared), (variable["name"], query)


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses each query, as a recording rule (Grafana variables filled in)."""
    rules = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(expr)}
             for i, (_, expr) in enumerate(dashboard_exprs())]
    (tmp_path / "dashboard_rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    run_promtool("check", "rules", "dashboard_rules.yml", cwd=tmp_path)
