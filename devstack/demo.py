"""The demo: the local stack, a worker, the sink and a month of statewide traffic, in
accelerated simulated time, with a live view in the terminal and Prometheus watching.

Simulated time runs at `speed` simulated hours per wall second; the worker runs on the
event-time clock, so deadlines lapse and escalations happen within the first minute.
The simulated month ends today: the sink's gauges and the reports count "overdue" and
"closed in the last 30 days" against the wall clock, and would otherwise show nothing.
Ctrl-C (or the end of the simulated period) stops every process it started.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from devstack.api_runner import ApiProcess
from devstack.prometheus import (
    LocalPrometheus,
    PrometheusAPI,
    PrometheusError,
    dashboard_queries,
    demo_time_rules,
    format_duration,
)
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

# Dashboard panels (docker/grafana/dashboards) the demo links to, as ready PromQL.
LINKED_PANELS = {
    "SLA compliance by department (worst district)": "SLA compliance by department",
    "Open complaints by level": "open complaints by level",
    "Escalations per hour by cause": "escalations per hour by cause",
}


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
    start: datetime | None = None  # None: `days` before today, so that it ends today
    api: bool = True  # also run `sankalp api` (on SANKALP_API_PORT) with demo keys


def simulated_start(days: float, now: datetime | None = None) -> datetime:
    """07:00 IST (the call centre opens), `days` before today."""
    now = now or datetime.now(UTC)
    day = (now - timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)


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


DEMO_CHANNEL_KEY = "demo-portal-key-not-for-production"


def demo_api(settings: Settings, log_dir: Path, name: str) -> ApiProcess:
    """`sankalp api` for the demo's pipeline, with a demo channel key and a fresh officer
    signing key in files beside its log (never the keys of a real deployment)."""
    import secrets

    channel_keys = log_dir / f"{name}-channel.keys"
    officer_keys = log_dir / f"{name}-officer.keys"
    channel_keys.write_text(f"demo portal {DEMO_CHANNEL_KEY}\n")
    officer_keys.write_text(f"demo {secrets.token_hex(32)}\n")
    for path in (channel_keys, officer_keys):
        path.chmod(0o600)
    return ApiProcess(settings.with_overrides(api_keys_file=channel_keys,
                                              officer_keys_file=officer_keys),
                      log_dir / f"{name}-api.log")


def start_demo_api(front_door: ApiProcess) -> bool:
    """Start it and say where it answers; a port already taken (another API) is said in
    one line and the demo goes on without it."""
    try:
        front_door.start()
        front_door.wait_ready(30)
        with urllib.request.urlopen(f"{front_door.url}/open311/v2/services.json",
                                    timeout=5) as response:
            answered = response.status == 200
    except (RuntimeError, TimeoutError, OSError) as exc:
        say(f"the API did not start ({str(exc).splitlines()[0]}); the demo goes on without "
            f"it (log {front_door.log_file})")
        return False
    keys = front_door.settings.api_keys_file
    officer = front_door.settings.officer_keys_file
    say(f"the API (Open311, docs/api.md): curl {front_door.url}/open311/v2/services.json")
    say(f"  a channel's key is in {keys}; an officer's token: SANKALP_OFFICER_KEYS_FILE="
        f"{officer} .venv/bin/sankalp officer token JSV/L1/Shimla/Theog")
    return answered


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


def alerts_line(api: PrometheusAPI | None) -> tuple[str, dict[str, int]]:
    """The view's Prometheus line, and the alerts firing (name -> label sets)."""
    if api is None:
        return "Prometheus      not running (see `sankalp stack status`)", {}
    try:
        firing = api.firing()
    except PrometheusError:
        return f"Prometheus      {api.url} not answering", {}
    names = ", ".join(f"{name} ({count})" for name, count in firing.items())
    return f"Prometheus      {api.url}  alerts firing: {names or 'none'}", firing


def render_view(conn, settings: Settings, worker_lag: GroupLag, simulated: datetime,
                submitted: int, rate: float) -> list[str]:
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
    return [
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


class LiveView:
    """The summary, redrawn in place on a terminal (ANSI cursor control); on anything else
    (a pipe, a log file, CI) each frame as plain lines followed by a blank line, so the
    output stays readable there."""

    CLEAR_LINE = "\033[2K"
    CLEAR_BELOW = "\033[J"

    def __init__(self, out: TextIO, redraw: bool = True) -> None:
        self.out = out
        self.redraw = redraw and out.isatty()
        self._drawn = 0  # lines of the last frame, to move back over

    def _width(self) -> int:
        return shutil.get_terminal_size((100, 24)).columns

    def show(self, lines: list[str]) -> None:
        if not self.redraw:
            self.out.write("\n".join(lines) + "\n\n")
            self.out.flush()
            return
        # A line wider than the terminal would wrap, and moving up by the number of lines
        # would then land in the wrong place: cut it instead.
        width = max(20, self._width() - 1)
        frame = f"\033[{self._drawn}F" if self._drawn else ""
        frame += "".join(f"{self.CLEAR_LINE}{line[:width]}\n" for line in lines)
        self.out.write(frame + self.CLEAR_BELOW)
        self.out.flush()
        self._drawn = len(lines)


def announce_prometheus(api: PrometheusAPI, for_floor: float, speed: float) -> None:
    """Where to look: the UI, the alerts page, and the dashboard's key queries as links."""
    say(f"Prometheus: {api.page('graph')}   targets: {api.page('targets')}")
    say(f"alerts:     {api.page('alerts')}   (rules about complaints hold for simulated "
        f"time here: `for: 30m` is {format_duration(max(for_floor, 1800 / (speed * 3600)))} "
        "at this speed)")
    panels = {q.panel: q.expr for q in dashboard_queries()}
    for title, label in LINKED_PANELS.items():
        if title in panels:
            say(f"{label}: {api.graph_link(panels[title], '15m')}")


@contextlib.contextmanager
def _stopped_like_ctrl_c():
    """SIGTERM and SIGHUP (a closed terminal) end the demo as Ctrl-C does: through its
    clean-up, which stops the worker and the sink and withdraws their scrape targets (left
    behind, they would show as WorkerDown and SinkDown)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(base: Settings, options: DemoOptions, log_dir: Path,
             prometheus: LocalPrometheus | None = None, out: TextIO | None = None) -> dict:
    """Run the demo; with `prometheus` (running), point it at the demo's processes and
    alert rules on the demo's time scale, and show its firing alerts in the view."""
    with _stopped_like_ctrl_c():
        return _run_demo(base, options, log_dir, prometheus, out or sys.stdout)


def _run_demo(base: Settings, options: DemoOptions, log_dir: Path,
              prometheus: LocalPrometheus | None, out: TextIO) -> dict:
    settings = demo_settings(base, options.name)
    say("resetting the previous demo's topics and tables")
    reset(settings, base.database_url, options.name)
    ensure_topics(settings, ALL_TOPICS)
    from sinks.migrate import migrate

    conn = connect(settings.database_url, settings.database_password)
    migrate(conn)
    worker = WorkerProcess(settings, log_dir / f"{options.name}-worker.log")
    sink = SinkProcess(settings, log_dir / f"{options.name}-sink.log")
    front_door = demo_api(settings, log_dir, options.name) if options.api else None
    publisher = EventPublisher(settings)
    # The workers' lag through a plain consumer, not the Admin API (sinks/lag.py: librdkafka's
    # admin requests aborted the process when a broker was lost).
    worker_lag = GroupLag(settings, settings.app_id)
    api = PrometheusAPI(prometheus.url) if prometheus is not None else None
    view = LiveView(out, redraw=options.interactive)
    summary: dict = {"alerts_seen": {}}
    try:
        say(f"starting a worker (log {worker.log_file}) and the sink (log {sink.log_file})")
        worker.start()
        sink.start()
        if prometheus is not None:
            floor = 2 * prometheus.evaluation_seconds
            rules = prometheus.home / "demo-alerts.yml"
            rules.write_text(demo_time_rules(options.speed, floor))
            prometheus.use_rules([rules])
        worker.wait_ready(120)
        sink.wait_ready(60)
        if settings.metrics_port:
            say(f"worker metrics: http://127.0.0.1:{settings.metrics_port}/metrics")
        if settings.sink_metrics_port:
            say(f"sink metrics:   http://127.0.0.1:{settings.sink_metrics_port}/metrics")
        if front_door is not None:
            summary["api_answered"] = start_demo_api(front_door)
        if api is not None and prometheus is not None:
            announce_prometheus(api, 2 * prometheus.evaluation_seconds, options.speed)
        say(f"reports: psql '{redact_url(base.database_url)}' "
            f"-c 'SET search_path={options.name}' "
            "-c 'SELECT * FROM report_sla_compliance'")
        start = options.start or simulated_start(options.days)
        profile = TrafficProfile(seed=options.seed, days=options.days,
                                 complaints_per_day=options.complaints_per_day, start=start)
        say(f"simulating {options.days:g} days of statewide traffic from {start:%Y-%m-%d} at "
            f"{options.speed:g} simulated hours per second; Ctrl-C to stop")

        def frame(simulated: datetime, submitted: int, rate: float) -> list[str]:
            line, firing = alerts_line(api)
            for name, count in firing.items():
                summary["alerts_seen"][name] = max(count, summary["alerts_seen"].get(name, 0))
            figures = render_view(conn, settings, worker_lag, simulated, submitted, rate)
            return [*figures, line]

        wall_start = time.monotonic()
        last_view = 0.0
        submitted = 0
        window: list[tuple[float, int]] = []
        next_tick = profile.start
        simulated = profile.start
        for event in Traffic(profile):
            simulated = event.occurred_at
            sim_elapsed = (simulated - profile.start).total_seconds() / 3600
            wait = sim_elapsed / options.speed - (time.monotonic() - wall_start)
            if wait > 0:
                publisher.flush()
                time.sleep(wait)
            # Quiet hours still pass: tick the clock every simulated 15 minutes.
            while next_tick <= simulated:
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
                view.show(frame(simulated, submitted, rate))
                last_view = now
        publisher.flush()
        time.sleep(options.view_every)
        final = frame(simulated, submitted, 0.0)
        view.show(final)
        summary.update(submitted=submitted, view="\n".join(final))
    except KeyboardInterrupt:
        say("stopping (Ctrl-C)")
    finally:
        with contextlib.suppress(Exception):
            publisher.flush(10)
        conn.close()
        worker_lag.close()
        worker.stop()
        sink.stop()
        if front_door is not None:
            front_door.stop()
        if prometheus is not None:
            with contextlib.suppress(Exception):
                prometheus.use_rules()  # back to the rules as written
    return summary
