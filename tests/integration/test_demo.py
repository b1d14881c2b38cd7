"""The README's main job, shortened: twelve simulated days through the pipeline, watched by
a real Prometheus (one of this test's own, 1 s scrape and evaluation)."""

from __future__ import annotations

import uuid

import psycopg2
from kit.settings import free_port, fresh_schema, schema_url

from devstack.demo import DemoOptions, run_demo, simulated_start
from devstack.prometheus import (
    ALERT_RULES,
    LocalPrometheus,
    PrometheusAPI,
    announced_targets,
    targets_dir,
)
from streams.admin import delete_topics_with_prefix


def test_demo_runs_simulated_traffic_end_to_end(services, test_settings, tmp_path, capsys):
    name = f"demo_t{uuid.uuid4().hex[:6]}"
    # Twelve days that ended a fortnight ago: closed within the SLA gauge's 30 days, and
    # the due dates of complaints that climbed to level 4 already past (the sink counts
    # "overdue" against today's date).
    options = DemoOptions(days=12, speed=16, complaints_per_day=120, view_every=1.0,
                          interactive=False, name=name,
                          start=simulated_start(26))
    base = test_settings.with_overrides(app_id="unused", topic_prefix="",
                                        metrics_port=free_port(), sink_metrics_port=free_port(),
                                        api_port=free_port())
    prometheus = LocalPrometheus(home=tmp_path / "prometheus", logs=tmp_path / "logs",
                                 port=free_port(), scrape_seconds=1, evaluation_seconds=1,
                                 targets=targets_dir(base.stack_dir))
    prometheus.up()
    api = PrometheusAPI(prometheus.url)
    # the demo names its topic prefix, app id and schema itself (and makes the schema new)
    with fresh_schema(services.database_url, name):
        try:
            summary = run_demo(base, options, tmp_path, prometheus)
            out = capsys.readouterr().out
            assert summary["submitted"] > 500
            # the front door ran beside the pipeline and answered Open311's services list
            assert summary["api_answered"] is True
            assert "/open311/v2/services.json" in out
            assert "open by level" in out and "SLA compliance" in out and "consumer lag" in out
            assert "\033" not in out  # not a terminal: plain lines

            # where to look: the UI, the alerts page, ready PromQL links
            assert f"[demo] alerts:     {api.page('alerts')}" in out
            for link in ("SLA compliance by department", "open complaints by level",
                         "escalations per hour by cause"):
                assert f"[demo] {link}: {api.page('graph')}?g0.expr=" in out
            assert f"Prometheus      {prometheus.url}  alerts firing: " in out

            # Prometheus found the worker and the sink through their target files, and
            # the sink's SLA gauge had data: the simulated month ends today
            for job in ("sankalp-worker", "sankalp-sink"):
                assert api.query(f'max_over_time(up{{job="{job}"}}[5m]) == 1'), job
            assert api.query("max_over_time(sankalp_sla_compliance_ratio[5m])")
            # alerts about complaints fire on the demo's time scale (`for:` of simulated
            # time), and their names are in the view
            assert summary["alerts_seen"], out[-3000:]
            assert all(f"{alert} (" in out for alert in summary["alerts_seen"])

            # afterwards: the rules as written again, the stopped processes withdrawn
            assert {g["file"] for g in api.rule_groups()} == {str(ALERT_RULES)}
            assert announced_targets(base.stack_dir) == []

            conn = psycopg2.connect(schema_url(services.database_url, name))
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM complaint_current")
                assert cur.fetchone()[0] > 0
            conn.close()
        finally:
            prometheus.down()
            delete_topics_with_prefix(services.kafka_bootstrap_servers, f"{name}.",
                                      f"sankalp-{name}")
