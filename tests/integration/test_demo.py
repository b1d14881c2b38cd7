"""The README's main job, shortened: a fortnight of simulated traffic through the pipeline."""

from __future__ import annotations

import uuid

import psycopg2

from streams.demo import DemoOptions, run_demo


def test_demo_runs_simulated_traffic_end_to_end(services, test_settings, tmp_path, capsys):
    from conftest import delete_topics_starting_with

    name = f"demo_t{uuid.uuid4().hex[:6]}"
    options = DemoOptions(days=12, speed=48, complaints_per_day=80, view_every=1.0,
                          interactive=False, name=name)
    base = test_settings.with_overrides(app_id="unused", topic_prefix="")
    try:
        summary = run_demo(base, options, tmp_path)
        out = capsys.readouterr().out
        assert summary["submitted"] > 500
        assert "open by level" in out and "SLA compliance" in out and "consumer lag" in out
        conn = psycopg2.connect(services.database_url, options=f"-c search_path={name}")
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM complaint_current")
            assert cur.fetchone()[0] > 0
        conn.close()
    finally:
        delete_topics_starting_with(services.kafka_bootstrap_servers, f"{name}.")
        delete_topics_starting_with(services.kafka_bootstrap_servers, f"sankalp-{name}")
        conn = psycopg2.connect(services.database_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.close()
