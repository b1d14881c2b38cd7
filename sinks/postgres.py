"""Postgres access for the sinks (for now: the smoke pipeline's table)."""

from __future__ import annotations

import psycopg2
import psycopg2.extensions

SMOKE_DDL = """
CREATE TABLE IF NOT EXISTS smoke_assignment (
    complaint_id   text PRIMARY KEY,
    event_id       uuid NOT NULL,
    department     text NOT NULL,
    district       text NOT NULL,
    level          smallint NOT NULL,
    text           text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
)
"""


def connect(database_url: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(database_url, connect_timeout=10)


def upsert_smoke_assignment(conn: psycopg2.extensions.connection, assignment: dict) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(SMOKE_DDL)
        cur.execute(
            """
            INSERT INTO smoke_assignment (complaint_id, event_id, department, district, level, text)
            VALUES (%(complaint_id)s, %(event_id)s, %(department)s, %(district)s, %(level)s,
                    %(text)s)
            ON CONFLICT (complaint_id) DO UPDATE
               SET event_id = EXCLUDED.event_id, department = EXCLUDED.department,
                   district = EXCLUDED.district, level = EXCLUDED.level, text = EXCLUDED.text
            """,
            assignment,
        )
