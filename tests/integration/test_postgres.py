"""psycopg2 against the real Postgres, inside the test's own schema."""

from __future__ import annotations

from sinks.postgres import connect, upsert_smoke_assignment


def test_round_trip_keeps_unicode_text(pg_conn):
    text = "बिजली का खंभा गिरा है — pole fell near Rampur बस स्टैंड"
    with pg_conn, pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)")
        cur.execute("INSERT INTO note (body) VALUES (%s) RETURNING id", (text,))
        (row_id,) = cur.fetchone()
    with pg_conn.cursor() as cur:
        cur.execute("SELECT body FROM note WHERE id = %s", (row_id,))
        assert cur.fetchone() == (text,)


def test_smoke_upsert_is_idempotent_per_complaint(pg_url):
    assignment = {
        "event_id": "6f1c1f5e-2b1a-4e0c-9a55-0d7d3a1d2b10",
        "complaint_id": "HP-TEST-1",
        "department": "Jal Shakti",
        "district": "Mandi",
        "level": 1,
        "text": "नल में पानी नहीं",
    }
    conn = connect(pg_url)
    try:
        upsert_smoke_assignment(conn, assignment)
        upsert_smoke_assignment(conn, assignment)
        upsert_smoke_assignment(conn, {**assignment, "department": "Public Works"})
        with conn.cursor() as cur:
            cur.execute("SELECT complaint_id, department FROM smoke_assignment")
            assert cur.fetchall() == [("HP-TEST-1", "Public Works")]
    finally:
        conn.close()


def test_db_migrate_command_is_idempotent(pg_url, monkeypatch, capsys):
    from streams.cli import main

    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["db", "migrate"]) == 0
    assert "applied 0001_complaints" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert "database schema is current" in capsys.readouterr().out
