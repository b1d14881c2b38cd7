"""The README's main job (for now): one sample complaint routed end to end into Postgres."""

from __future__ import annotations

from devstack.smoke import run_smoke


def test_smoke_routes_a_sample_complaint_into_postgres(test_settings, pg_url, pg_conn):
    settings = test_settings.with_overrides(database_url=pg_url)
    assignment = run_smoke(settings, timeout=90)
    assert assignment["department"] == "Jal Shakti"
    with pg_conn.cursor() as cur:
        cur.execute("SELECT complaint_id, department, level FROM smoke_assignment")
        assert cur.fetchall() == [(assignment["complaint_id"], "Jal Shakti", 1)]
