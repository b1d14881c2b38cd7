"""Versioned SQL migrations: `sankalp db migrate` applies them; the sink checks them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg2.extensions

LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationsPending(RuntimeError):
    """The database is behind the code; run `sankalp db migrate`."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("sinks.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def applied(conn: psycopg2.extensions.connection) -> set[int]:
    with conn, conn.cursor() as cur:
        cur.execute(LEDGER)
        cur.execute("SELECT version FROM schema_migration")
        return {row[0] for row in cur.fetchall()}


def migrate(conn: psycopg2.extensions.connection) -> list[Migration]:
    """Apply every migration not yet applied, each in its own transaction, in order."""
    done = applied(conn)
    ran = []
    for migration in available():
        if migration.version in done:
            continue
        with conn, conn.cursor() as cur:
            # One migrator at a time (two sinks starting together must not race).
            cur.execute("SELECT pg_advisory_xact_lock(1100)")
            cur.execute("SELECT 1 FROM schema_migration WHERE version = %s",
                        (migration.version,))
            if cur.fetchone():
                continue
            cur.execute(migration.sql)
            cur.execute("INSERT INTO schema_migration (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name))
        ran.append(migration)
    return ran


def check(conn: psycopg2.extensions.connection) -> None:
    """Refuse to run against a database that is behind. Read-only: the sink's role has no
    DDL, so it cannot create the ledger the way `applied` does."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migration') IS NOT NULL")
        done: set[int] = set()
        if cur.fetchone()[0]:
            cur.execute("SELECT version FROM schema_migration")
            done = {row[0] for row in cur.fetchall()}
    pending = [m for m in available() if m.version not in done]
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise MigrationsPending(f"database schema is behind: {names} pending; "
                                "run `sankalp db migrate`")
