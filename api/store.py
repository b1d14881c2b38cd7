"""What the API reads from Postgres: the tables the sink writes (sinks/migrations).

Never `citizen_contact`: the API reads complaints' state and public events only, and in
production should log in as a role granted `sankalp_reporting`, which cannot read personal
data (migration 0002). Reads run on a few threads, each with its own read-only connection;
a connection that fails is dropped and the request gets StoreUnavailable (503), the next
one reconnects.

The officer's queue filters on (level, department, district) as well as the officer: the
partial index `complaint_current_open` serves exactly that, so a queue read does not scan
the state's complaints.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions

from api.errors import Unavailable
from sinks.postgres import connect
from streams.settings import Settings

log = logging.getLogger("sankalp.api")

T = TypeVar("T")
READ_THREADS = 4
# A read that takes longer is a database in trouble; the caller gets 503 rather than a wait.
STATEMENT_TIMEOUT_MS = 3000

_STATUS_COLUMNS = (
    "complaint_id, status, channel, category, department, district, tehsil, block, level, "
    "registered_at, assigned_at, due_at, escalations, transfers, reopenings, "
    "overdue_at_state, closed_at, close_reason, updated_at")
STATUS_SQL = f"SELECT {_STATUS_COLUMNS} FROM complaint_current WHERE complaint_id = ANY(%s)"
DUPLICATES_SQL = (
    "SELECT complaint_id, payload ->> 'duplicate_of' FROM complaint_event "
    "WHERE event_type = 'complaint.duplicate_linked' AND complaint_id = ANY(%s)")
# The latest special-close request of a complaint names who must decide it.
_LATEST_SPECIAL_CLOSE = (
    "SELECT e.payload, e.occurred_at FROM complaint_event e "
    "WHERE e.complaint_id = c.complaint_id AND e.event_type = 'special_close.requested' "
    "ORDER BY e.occurred_at DESC LIMIT 1")
_POST_FILTER = (
    "c.department = %(department)s AND (%(district)s::text IS NULL "
    "OR c.district = %(district)s) AND c.status NOT IN ('closed', 'special_closed')")
QUEUE_SQL = f"""
SELECT c.complaint_id, c.status, c.category, c.department, c.district, c.tehsil, c.block,
       c.level, c.registered_at, c.assigned_at, c.due_at, c.updated_at, c.escalations,
       c.transfers, c.reopenings, c.overdue_at_state,
       (SELECT max((e.payload ->> 'fraction')::float) FROM complaint_event e
         WHERE e.complaint_id = c.complaint_id AND e.event_type = 'sla.warning'
           AND e.occurred_at >= c.assigned_at) AS warned
FROM complaint_current c
WHERE c.level = %(level)s AND {_POST_FILTER} AND c.officer_id = %(officer_id)s
ORDER BY c.due_at, c.complaint_id
LIMIT %(limit)s
"""
APPROVALS_SQL = f"""
SELECT c.complaint_id, c.category, c.department, c.district, c.tehsil, c.block, c.level,
       c.due_at, r.payload ->> 'officer_id' AS proposed_by, r.payload ->> 'reason' AS reason,
       r.occurred_at AS requested_at
FROM complaint_current c
CROSS JOIN LATERAL ({_LATEST_SPECIAL_CLOSE}) r
WHERE c.level < %(level)s AND {_POST_FILTER} AND c.status = 'special_close_proposed'
  AND r.payload ->> 'approver_id' = %(officer_id)s
ORDER BY c.due_at, c.complaint_id
LIMIT %(limit)s
"""
ACTION_SQL = f"""
SELECT c.officer_id, c.status,
       (SELECT r.payload ->> 'approver_id' FROM ({_LATEST_SPECIAL_CLOSE}) r) AS approver
FROM complaint_current c WHERE c.complaint_id = %s
"""


class StoreUnavailable(Unavailable):
    """Postgres could not answer; the reason is safe to show."""


@dataclass(frozen=True)
class PostScope:
    """Where a post's complaints lie: its department, level and (below the state) district."""

    officer_id: str
    department: str
    level: int
    district: str | None

    def params(self, limit: int) -> dict[str, object]:
        return {"officer_id": self.officer_id, "department": self.department,
                "level": self.level, "district": self.district, "limit": limit}


@dataclass(frozen=True)
class ActionTarget:
    officer_id: str
    status: str
    approver: str | None  # who must decide a pending special close


class Store:
    def __init__(self, settings: Settings, threads: int = READ_THREADS) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="api-postgres")
        self._local = threading.local()
        self._connections: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> psycopg2.extensions.connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.settings.database_url, self.settings.database_password,
                           connect_timeout=3)
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _run(self, query: Callable[[Any], T]) -> T:
        try:
            conn = self._connection()
            with conn.cursor() as cur:
                return query(cur)
        except psycopg2.Error as exc:
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
                self._local.conn = None
            log.warning("Postgres: %s", type(exc).__name__)
            raise StoreUnavailable("the status store (Postgres) is unavailable") from None

    async def _read(self, query: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, query)

    # --- reads ----------------------------------------------------------------------------
    async def ping(self) -> None:
        """Postgres answers, and the sink's tables are there (migrated)."""
        await self._read(lambda cur: cur.execute("SELECT 1 FROM complaint_current LIMIT 0"))

    async def statuses(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """complaint id -> its row of complaint_current, for the ids that have one."""
        def query(cur):
            cur.execute(STATUS_SQL, (list(ids),))
            names = [d[0] for d in cur.description]
            return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}

        return await self._read(query)

    async def duplicates(self, ids: Sequence[str]) -> dict[str, str]:
        """complaint id -> the earlier complaint it was linked to, for linked ids."""
        def query(cur):
            cur.execute(DUPLICATES_SQL, (list(ids),))
            return dict(cur.fetchall())

        return await self._read(query)

    async def queue(self, scope: PostScope, limit: int) -> list[dict[str, Any]]:
        return await self._dicts(QUEUE_SQL, scope.params(limit))

    async def approvals(self, scope: PostScope, limit: int) -> list[dict[str, Any]]:
        return await self._dicts(APPROVALS_SQL, scope.params(limit))

    async def action_target(self, complaint_id: str) -> ActionTarget | None:
        def query(cur):
            cur.execute(ACTION_SQL, (complaint_id,))
            row = cur.fetchone()
            return None if row is None else ActionTarget(*row)

        return await self._read(query)

    async def _dicts(self, sql: str, params: dict[str, object]) -> list[dict[str, Any]]:
        def query(cur):
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return await self._read(query)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for conn in self._connections:
                if not conn.closed:
                    conn.close()
