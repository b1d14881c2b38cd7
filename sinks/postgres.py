"""Postgres access for the sinks (for now: the smoke pipeline's table)."""

from __future__ import annotations

import psycopg2
import psycopg2.extensions

from streams.security import Secret

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


def connect(database_url: str, password: Secret | None = None, *,
            connect_timeout: int = 10) -> psycopg2.extensions.connection:
    """A connection to DATABASE_URL. libpq reads TLS from the URL (`sslmode=verify-full`,
    `sslrootcert=`, ...) or from PGSSLMODE / PGSSLROOTCERT / PGSSLCERT / PGSSLKEY; `password`
    (DATABASE_PASSWORD or DATABASE_PASSWORD_FILE) is handed to libpq apart from the URL."""
    extra = {} if password is None else {"password": password.reveal()}
    return psycopg2.connect(database_url, connect_timeout=connect_timeout, **extra)


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
