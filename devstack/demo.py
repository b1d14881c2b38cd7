"""The demo: the local stack, a worker, the sink and a month of statewide traffic, in
accelerated simulated time, with a live view in the terminal.

Simulated time runs at `speed` simulated hours per wall second; the worker runs on the
event-time clock, so deadlines lapse and escalations happen within the first minute.
Ctrl-C (or the end of the simulated period) stops every process it started.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack.runners import SinkProcess, WorkerProcess
from schemas.events import ComplaintSubmitted
from simulator.traffic import Traffic, TrafficProfile
from sinks.lag import GroupLag
from sinks.postgres import connect
from streams.admin import delete_topics_with_prefix, ensure_topics
from streams.producer import EventPublisher
from streams.security import redact_url
from streams.settings import Settings
from streams.topics import ALL_TOPICS, COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED, WORKER_INPUTS

DEMO_NAME = "demo"  # topic prefix, Postgres schema and (with "sankalp-") the app id


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


@dataclass(frozen=True)
class DemoOptions:
    days: float = 30.0
    speed: float = 4.0  # simulated hours per wall second
    complaints_per_day: float = 420.0
    seed: int = 1100
    view_every: float = 2.0
    interactive: bool = True
    name: str = DEMO_NAME


def demo_settings(base: Settings, name: str = DEMO_NAME) -> Settings:
    separator = "&" if "?" in base.database_url else "?"
    return base.with_overrides(
        app_id=f"sankalp-{name}",
        topic_prefix=f"{name}.",
        clock="event",
        tick_interval_seconds=0.2,
        database_url=f"{base.database_url}{separator}options=-csearch_path%3D{name}",
        worker_data_dir=base.stack_dir / f"{name}-worker",
        verification_sample_rate=0.1,
    )


def reset(settings: Settings, base_url: str, name: str) -> None:
    """One demo dataset at a time: drop the previous run's topics and schema."""
    delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.topic_prefix,
                              f"{settings.app_id}-", wait=True, settings=settings)
    conn = connect(base_url, settings.database_password)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{name}"')
    conn.close()
    import shutil

    shutil.rmtree(settings.worker_data_dir, ignore_errors=True)


VIEW_QUERIES = {
    "open": "SELECT level, count(*) FROM complaint_current "
            "WHERE status NOT IN ('closed', 'special_closed') GROUP BY 1 ORDER BY 1",
    "closed": "SELECT count(*) FILTER (WHERE close_reason = 'citizen_satisfied'), "
              "count(*) FILTER (WHERE close_reason = 'special_close') FROM complaint_current",
    "causes": "SELECT cause, count(*) FROM escalation GROUP BY 1 ORDER BY 2 DESC",
    "compliance": "SELECT sum(closed_in_time)::float / nullif(sum(closed), 0) "
                  "FROM report_sla_compliance",
    "districts": "SELECT district, count(*) FROM lapse GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
    "departments": "SELECT department, count(*) FROM lapse GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
}


def render_view(conn, settings: Settings, worker_lag: GroupLag, simulated: datetime,
                submitted: int, rate: float) -> str:
    rows = {}
    with conn.cursor() as cur:
        for name, sql in VIEW_QUERIES.items():
            cur.execute(sql)
            rows[name] = cur.fetchall()
    conn.rollback()
    lag = worker_lag.read([settings.topic(t.name) for t in WORKER_INPUTS])
    levels = dict(rows["open"])
    satisfied, special = rows["closed"][0]
    compliance = rows["compliance"][0][0]
    lines = [
        f"simulated time  {simulated.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"intake          {submitted:,} complaints submitted, {rate:,.0f}/s now",
        "open by level   " + "  ".join(f"L{lvl} {levels.get(lvl, 0):,}" for lvl in (1, 2, 3, 4)),
        f"closed          {satisfied:,} satisfied, {special:,} special close",
        "escalations     " + ("  ".join(f"{c} {n:,}" for c, n in rows["causes"]) or "none yet"),
        "SLA compliance  " + (f"{compliance:.1%} of closed complaints never lapsed"
                              if compliance is not None else "no closures yet"),
        "most lapses     districts: " + (", ".join(f"{d} {n}" for d, n in rows["districts"])
                                          or "none") + "; departments: "
        + (", ".join(f"{d} {n}" for d, n in rows["departments"]) or "none"),
        f"consumer lag    {sum(lag.values()):,} message(s) behind",
    ]
    return "\n".join(lines)


def run_demo(base: Settings, options: DemoOptions, log_dir: Path) -> dict:
    settings = demo_settings(base, options.name)
    say("resetting the previous demo's topics and tables")
    reset(settings, base.database_url, options.name)
    ensure_topics(settings, ALL_TOPICS)
    from sinks.migrate import migrate

    conn = connect(settings.database_url, settings.database_password)
    migrate(conn)
    worker = WorkerProcess(settings, log_dir / f"{options.name}-worker.log")
    sink = SinkProcess(settings, log_dir / f"{options.name}-sink.log")
    say(f"starting a worker (log {worker.log_file}) and the sink (log {sink.log_file})")
    worker.start()
    sink.start()
    publisher = EventPublisher(settings)
    # The workers' lag through a plain consumer, not the Admin API (sinks/lag.py: librdkafka's
    # admin requests aborted the process when a broker was lost).
    worker_lag = GroupLag(settings, settings.app_id)
    summary: dict = {}
    try:
        worker.wait_ready(120)
        sink.wait_ready(60)
        if settings.metrics_port:
            say(f"worker metrics: http://127.0.0.1:{settings.metrics_port}/metrics")
        if settings.sink_metrics_port:
            say(f"sink metrics:   http://127.0.0.1:{settings.sink_metrics_port}/metrics")
        say(f"reports: psql '{redact_url(base.database_url)}' "
            f"-c 'SET search_path={options.name}' "
            "-c 'SELECT * FROM report_sla_compliance'")
        profile = TrafficProfile(seed=options.seed, days=options.days,
                                 complaints_per_day=options.complaints_per_day)
        say(f"simulating {options.days:g} days of statewide traffic at {options.speed:g} "
            "simulated hours per second; Ctrl-C to stop")
        wall_start = time.monotonic()
        last_view = 0.0
        submitted = 0
        window: list[tuple[float, int]] = []
        next_tick = profile.start
        for event in Traffic(profile):
            sim_elapsed = (event.occurred_at - profile.start).total_seconds() / 3600
            wait = sim_elapsed / options.speed - (time.monotonic() - wall_start)
            if wait > 0:
                publisher.flush()
                time.sleep(wait)
            # Quiet hours still pass: tick the clock every simulated 15 minutes.
            while next_tick <= event.occurred_at:
                publisher.watermark(next_tick)
                next_tick += timedelta(minutes=15)
            topic = (COMPLAINTS_SUBMITTED.name if isinstance(event, ComplaintSubmitted)
                     else COMPLAINT_COMMANDS.name)
            publisher.send(topic, event.complaint_id, event)
            if isinstance(event, ComplaintSubmitted):
                submitted += 1
            now = time.monotonic()
            if now - last_view >= options.view_every:
                publisher.flush()
                worker.check_healthy()
                sink.check_healthy()
                window = [(t, n) for t, n in window if now - t < 10] + [(now, submitted)]
                rate = ((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
                        if len(window) > 1 else 0.0)
                view = render_view(conn, settings, worker_lag, event.occurred_at, submitted, rate)
                if options.interactive and sys.stdout.isatty():
                    print("\033[2J\033[H" + view, flush=True)
                else:
                    print(view + "\n", flush=True)
                last_view = now
        publisher.flush()
        time.sleep(options.view_every)
        final = render_view(conn, settings, worker_lag, event.occurred_at, submitted, 0.0)
        print(final, flush=True)
        summary = {"submitted": submitted, "view": final}
    except KeyboardInterrupt:
        say("stopping (Ctrl-C)")
    finally:
        with contextlib.suppress(Exception):
            publisher.flush(10)
        conn.close()
        worker_lag.close()
        worker.stop()
        sink.stop()
    return summary
