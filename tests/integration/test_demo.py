"""The README's main job, shortened: a fortnight of simulated traffic through the pipeline."""

from __future__ import annotations

import uuid

import psycopg2
from kit.settings import fresh_schema, schema_url

from devstack.demo import DemoOptions, run_demo
from streams.admin import delete_topics_with_prefix


def test_demo_runs_simulated_traffic_end_to_end(services, test_settings, tmp_path, capsys):
    name = f"demo_t{uuid.uuid4().hex[:6]}"
    options = DemoOptions(days=12, speed=48, complaints_per_day=80, view_every=1.0,
                          interactive=False, name=name)
    base = test_settings.with_overrides(app_id="unused", topic_prefix="")
    # the demo names its topic prefix, app id and schema itself (and makes the schema new)
    with fresh_schema(services.database_url, name):
        try:
            summary = run_demo(base, options, tmp_path)
            out = capsys.readouterr().out
            assert summary["submitted"] > 500
            assert "open by level" in out and "SLA compliance" in out and "consumer lag" in out
            conn = psycopg2.connect(schema_url(services.database_url, name))
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM complaint_current")
                assert cur.fetchone()[0] > 0
            conn.close()
        finally:
            delete_topics_with_prefix(services.kafka_bootstrap_servers, f"{name}.",
                                      f"sankalp-{name}")
