"""The local Prometheus' files (devstack/prometheus.py): its configuration (checked by
promtool), the scrape target files, the rule files with other `for:` durations, and the
dashboard's queries as Prometheus runs them. No server is started here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.prometheus import (
    ALERT_RULES,
    JOBS,
    LocalPrometheus,
    announced_targets,
    dashboard_queries,
    dashboard_variables,
    demo_time_rules,
    fill_variables,
    format_duration,
    parse_duration,
    remove_target,
    rules_with_for,
    target_file,
    write_target,
)

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool not installed "
                                    "(scripts/system-deps.sh installs it)")


def test_durations():
    assert parse_duration("30m") == 1800
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1m") == 60
    with pytest.raises(ValueError):
        parse_duration("30 minutes")
    assert format_duration(1800) == "30m"
    assert format_duration(5400) == "1h30m"
    assert format_duration(0.125) == "1s"  # Prometheus has no "0.125s" for `for:`
    assert format_duration(10) == "10s"


def test_target_files_announce_and_withdraw_an_endpoint(tmp_path):
    path = write_target(tmp_path, "worker", 19109, {"app_id": "sankalp-demo"})
    assert path == target_file(tmp_path, "worker", 19109)
    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:19109"], "labels": {"app_id": "sankalp-demo"}}]
    write_target(tmp_path, "sink", 19108)
    assert announced_targets(tmp_path) == ["sink-19108", "worker-19109"]
    assert not list(path.parent.glob("*.tmp"))
    remove_target(tmp_path, "worker", 19109)
    remove_target(tmp_path, "worker", 19109)  # twice: nothing to remove is fine
    assert announced_targets(tmp_path) == ["sink-19108"]
    with pytest.raises(ValueError):
        write_target(tmp_path, "bench", 1)


def test_the_config_scrapes_every_kind_from_its_target_files_and_loads_the_rules(tmp_path):
    prometheus = LocalPrometheus(home=tmp_path / "prometheus", logs=tmp_path / "logs",
                                 port=19090)
    config = prometheus.config()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {*JOBS.values(), "prometheus"}
    for kind, job in JOBS.items():
        files = jobs[job]["file_sd_configs"][0]["files"]
        assert files == [str(tmp_path / "prometheus" / "targets" / f"{kind}-*.json")]
    assert config["rule_files"] == [str(ALERT_RULES)]  # the compose stack's own file
    assert config["global"]["scrape_interval"] == "5s"


@needs_promtool
def test_promtool_accepts_the_generated_config(tmp_path):
    prometheus = LocalPrometheus(home=tmp_path / "prometheus", logs=tmp_path / "logs",
                                 port=19090, scrape_seconds=1, evaluation_seconds=1)
    path = prometheus.write_config()
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_for_durations_change():
    text = ALERT_RULES.read_text()
    seen = []

    def record(group, alert, seconds):
        seen.append((group, alert, seconds))
        return 2

    shortened = rules_with_for(text, record)
    assert ("sankalp-service", "SlaComplianceBelowTarget", 1800) in seen
    assert ("sankalp-pipeline", "WorkerDown", 60) in seen
    assert len(seen) == 7
    original = text.splitlines()
    changed = shortened.splitlines()
    assert len(original) == len(changed)
    differing = [(a, b) for a, b in zip(original, changed, strict=True) if a != b]
    assert differing and all(a.strip().startswith("for:") and b.strip() == "for: 2s"
                             for a, b in differing)


@needs_promtool
def test_the_demo_rules_scale_complaint_rules_to_simulated_time(tmp_path):
    rules = demo_time_rules(hours_per_second=4, floor_seconds=10)
    fors = [line.strip() for line in rules.splitlines() if line.strip().startswith("for:")]
    # sankalp-service: 30m, 30m, 5m of simulated time are instants at 4 h/s: the floor;
    # the pipeline's rules watch processes in wall time and keep theirs
    assert fors == ["for: 10s", "for: 10s", "for: 10s", "for: 5m", "for: 5m", "for: 1m",
                    "for: 1m"]
    path = tmp_path / "demo-alerts.yml"
    path.write_text(rules)
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_queries_as_prometheus_runs_them():
    queries = dashboard_queries("10m")
    assert len(queries) >= 15
    for query in queries:
        assert "$" not in query.expr, query
    by_panel = {q.panel: q for q in queries}
    sla = by_panel["SLA compliance by department (worst district)"]
    assert 'department=~".*"' in sla.expr and sla.legend_labels == {"department"}
    lapses = by_panel["Lapses by department (in the time range)"]
    assert "[10m]" in lapses.expr
    assert fill_variables('x{a=~"$department"}[$__range]') == 'x{a=~".*"}[1h]'
    assert ("department", "label_values(sankalp_complaints_open, department)") in (
        dashboard_variables())


def test_the_rule_file_is_the_compose_one():
    assert Path(__file__).resolve().parents[2] / "docker/prometheus/alerts.yml" == ALERT_RULES
