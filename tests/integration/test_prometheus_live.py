"""The Grafana dashboard and the alert rules, proven on real data in a real Prometheus.

A worker (event-time clock) and the sink run simulated statewide traffic plus a few
complaints nobody acts on, which climb to level 4 and lapse there, a duplicate, a refused
command and a burst of malformed submissions. A Prometheus of this module's own (Debian's
binary, 1 s scrape and evaluation) finds the two processes through the file_sd target
files their runners write, and loads docker/prometheus/alerts.yml with every `for:`
shortened to 3 s, expressions untouched. Then every PromQL expression of the dashboard and
of the rules is run through its HTTP API, and three causes drive their alert to firing:
complaints overdue at the state level, a dead-letter burst, and the sink killed; the first
and the last clear when the cause goes away.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from kit.settings import free_port, fresh_schema, own_topics, schema_url, settings_for

from devstack.prometheus import (
    ALERT_RULES,
    LocalPrometheus,
    PrometheusAPI,
    dashboard_queries,
    dashboard_variables,
    rules_with_for,
    targets_dir,
    wait_for,
)
from devstack.runners import SinkProcess, WorkerProcess
from schemas.events import CitizenFeedback, ComplaintSubmitted, OfficerActed
from simulator.traffic import Traffic, TrafficProfile
from sinks.lag import GroupLag
from sinks.migrate import migrate
from streams.admin import ensure_topics
from streams.producer import EventPublisher, make_producer
from streams.topics import (
    ALL_TOPICS,
    COMPLAINT_COMMANDS,
    COMPLAINTS_SUBMITTED,
    INTAKE_BY_CITIZEN,
)

NOW = datetime.now(UTC)
# Nobody acts on these: four lapses (about 33 days) take them to level 4 and past its
# due time, well before the wall clock's now (the sink counts "overdue" against it).
ABANDONED_AT = NOW - timedelta(days=45)
ABANDONED = dict(category="drinking_water_supply", district="Lahaul & Spiti", block="Spiti")
# The simulated traffic closes complaints within the last 30 days (the SLA gauge's window).
TRAFFIC = TrafficProfile(seed=14, days=16, complaints_per_day=60,
                         start=NOW - timedelta(days=19))
CLOCK_END = NOW - timedelta(hours=12)
SHORT_FOR = 3.0  # seconds, instead of each rule's 1m ... 30m


def _submission(complaint_id: str, at: datetime, phone: str, **where: str) -> ComplaintSubmitted:
    return ComplaintSubmitted(event_id=str(uuid.uuid4()), complaint_id=complaint_id,
                              occurred_at=at, channel="phone_1100", text="पानी नहीं आ रहा",
                              citizen_phone=phone, citizen_name="परीक्षण नागरिक", **where)


def _extra_events(run: str) -> tuple[list, list[str]]:
    """The abandoned complaints; a duplicate; a refused command (feedback before any
    resolution was proposed)."""
    abandoned = [f"HP-AB-{run}-{i}" for i in range(3)]
    events: list = [_submission(cid, ABANDONED_AT + timedelta(minutes=i), f"97000000{i:02d}",
                                **ABANDONED) for i, cid in enumerate(abandoned)]
    first = NOW - timedelta(days=10)
    place = dict(category="street_light", district="Shimla", block="Theog")
    events += [_submission(f"HP-DUP-{run}-1", first, "9700000099", **place),
               _submission(f"HP-DUP-{run}-2", first + timedelta(hours=1), "9700000099",
                           **place),
               CitizenFeedback(event_id=str(uuid.uuid4()), complaint_id=f"HP-DUP-{run}-1",
                               occurred_at=first + timedelta(days=1), outcome="satisfied")]
    return events, abandoned


def _publish(settings, events) -> int:
    """In time order, with a watermark every 2 simulated hours up to CLOCK_END, and a pause
    every 12 simulated hours until intake has read every submission. Submissions reach
    the lifecycle through intake's two stages, an officer's action straight on the commands
    topic; published as fast as possible, an action would overtake the registration it
    follows (at least 0.1 of a 7-day limit later, more than 12 hours) and be refused."""
    publisher = EventPublisher(settings)
    intake = [settings.topic(t.name) for t in (COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN)]
    lag = GroupLag(settings, settings.app_id)
    tick = ABANDONED_AT
    chunk_end = ABANDONED_AT + timedelta(hours=12)
    submitted = False
    count = 0
    try:
        for event in events:
            if event.occurred_at >= chunk_end:
                if submitted:
                    publisher.flush()
                    _caught_up(lag, intake)
                    submitted = False
                while chunk_end <= event.occurred_at:
                    chunk_end += timedelta(hours=12)
            while tick <= event.occurred_at:
                publisher.watermark(tick)
                tick += timedelta(hours=2)
            submitted |= isinstance(event, ComplaintSubmitted)
            topic = (COMPLAINTS_SUBMITTED if isinstance(event, ComplaintSubmitted)
                     else COMPLAINT_COMMANDS)
            publisher.send(topic.name, event.complaint_id, event)
            count += 1
        while tick <= CLOCK_END:
            publisher.watermark(tick)
            tick += timedelta(hours=2)
        publisher.flush()
    finally:
        lag.close()
    return count


def _caught_up(lag: GroupLag, topics: list[str]) -> None:
    """Intake's group has committed everything on `topics`, twice in a row a moment apart
    (a commit and the output it covers may become visible in either order)."""
    def nothing_left() -> bool:
        left = lag.read(topics)
        return bool(left) and not any(left.values())

    wait_for(lambda: nothing_left() and (time.sleep(0.2), nothing_left())[1], 60,
             "intake reading every submission")


class Live:
    def __init__(self, settings, prometheus, worker, sink, pg_url, abandoned):
        self.settings = settings
        self.prometheus = prometheus
        self.api = PrometheusAPI(prometheus.url)
        self.worker = worker
        self.sink = sink
        self.pg_url = pg_url
        self.abandoned = abandoned

    def sql(self, query: str, *args):
        conn = psycopg2.connect(self.pg_url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(query, args)
                return cur.fetchall()
        finally:
            conn.close()

    def alerts(self, name: str, state: str = "firing") -> list[dict]:
        return [a for a in self.api.alerts()
                if a["labels"]["alertname"] == name and a["state"] == state]

    def healthy(self) -> None:
        self.worker.check_healthy()
        self.sink.check_healthy()


@contextlib.contextmanager
def live_pipeline(services, tmp: Path, name: str = "prometheus-live") -> Iterator[Live]:
    """The scenario of this module, for it and for tests/integration/test_browser_alerts.py:
    a schema, topics, a Prometheus, a worker and the sink of their own; the traffic in;
    returns once the abandoned complaints sit overdue at level 4 in Postgres and the
    dead-letter burst is sent. Everything stopped at the end."""
    run = uuid.uuid4().hex[:6].upper()
    with fresh_schema(services.database_url) as schema, own_topics(settings_for(
            name, services, tmp, clock="event", tick_interval_seconds=0.1,
            metrics_port=free_port(), sink_metrics_port=free_port(),
            database_url=schema_url(services.database_url, schema))) as settings:
        ensure_topics(settings, ALL_TOPICS)
        conn = psycopg2.connect(settings.database_url)
        migrate(conn)
        conn.close()
        rules = tmp / "alerts-short-for.yml"
        rules.write_text(rules_with_for(ALERT_RULES.read_text(), lambda *_: SHORT_FOR))
        prometheus = LocalPrometheus(home=tmp / "prometheus", logs=tmp / "logs",
                                     port=free_port(), scrape_seconds=1,
                                     evaluation_seconds=1, rule_files=(rules,),
                                     targets=targets_dir(settings.stack_dir))
        prometheus.up()
        worker = WorkerProcess(settings, tmp / "worker.log").start()
        sink = SinkProcess(settings, tmp / "sink.log").start()
        live = Live(settings, prometheus, worker, sink, settings.database_url, [])
        try:
            worker.wait_ready(120)
            sink.wait_ready(60)
            extra, live.abandoned = _extra_events(run)
            started = time.monotonic()
            sent = _publish(settings, heapq.merge(
                Traffic(TRAFFIC), sorted(extra, key=lambda e: e.occurred_at),
                key=lambda e: e.occurred_at))
            print(f"\n{sent} complaints and commands published in "
                  f"{time.monotonic() - started:.0f}s")
            wait_for(lambda: (live.healthy(), live.sql(
                "SELECT count(*) FROM complaint_current WHERE complaint_id = ANY(%s) "
                "AND level = 4 AND due_at < now()", live.abandoned)[0][0] == 3)[1], 120,
                "the abandoned complaints overdue at level 4 in Postgres")
            wait_for(lambda: live.sql("SELECT count(*) FROM complaint_current "
                                      "WHERE closed_at IS NOT NULL")[0][0] > 300, 120,
                     "the simulated traffic's closures in Postgres")
            # The intake pauses in _publish keep the actions behind their registrations
            # (without them, more than a thousand were refused as "no such complaint").
            refused = live.sql("SELECT count(*) FROM complaint_event WHERE event_type = "
                               "'command.rejected' AND payload->>'reason' LIKE 'no such %%'")
            assert refused[0][0] <= 5, refused
            _dead_letter_burst(settings)
            yield live
        finally:
            live.worker.stop()
            live.sink.stop()
            prometheus.down()


@pytest.fixture(scope="module")
def live(services, tmp_path_factory):
    with live_pipeline(services, tmp_path_factory.mktemp("prometheus-live")) as running:
        yield running


def _dead_letter_burst(settings, seconds: int = 8, per_second: int = 4) -> None:
    """Malformed submissions, spread over a few scrapes (a rate needs an increase)."""
    producer = make_producer(settings)
    topic = settings.topic(COMPLAINTS_SUBMITTED.name)
    for second in range(seconds):
        for i in range(per_second):
            producer.produce(topic, key=f"HP-BAD-{second}-{i}".encode(), value=b"{not json")
        producer.flush(10)
        time.sleep(1)


def _finite(sample: dict) -> bool:
    return not math.isnan(float(sample["value"][1]))


def test_every_dashboard_query_returns_series_with_the_panel_labels(live):
    """Each panel's query, as Grafana would send it with "All" selected."""
    queries = dashboard_queries("10m")
    assert len(queries) >= 15

    def answered():
        missing = []
        for query in queries:
            result = [s for s in live.api.query(query.expr) if _finite(s)]
            if not result or not all(query.legend_labels <= set(s["metric"]) for s in result):
                missing.append(query.panel)
        return missing

    still_missing = answered()
    deadline = time.monotonic() + 60
    while still_missing and time.monotonic() < deadline:
        time.sleep(2)
        still_missing = answered()
    assert still_missing == [], still_missing
    for name, query in dashboard_variables():
        metric, label = re.fullmatch(r"label_values\((\w+)(?:\{.*\})?, (\w+)\)", query).groups()
        assert live.api.label_values(label, metric), name


def _annotation_labels(rule: dict) -> set[str]:
    text = " ".join(rule.get("annotations", {}).values())
    return set(re.findall(r"\$labels\.(\w+)", text))


def _bool(expr: str) -> str:
    """The expression with each comparison against a number made `bool`: it then returns
    every series it looks at (0 or 1) instead of only those past the threshold."""
    return re.sub(r"(==|!=|<=|>=|<|>)\s*(?=[-\d.])", r"\1 bool ", expr)


def test_every_alert_rule_evaluates_on_real_series_with_its_labels(live):
    groups = live.api.rule_groups()
    rules = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
    assert {r["name"] for r in rules} == {
        "SlaComplianceBelowTarget", "EscalationBacklog", "OverdueAtStateLevel",
        "ConsumerLagHigh", "DeadLetterRateHigh", "WorkerDown", "SinkDown"}
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
        assert rule["duration"] == SHORT_FOR
        series = live.api.query(_bool(rule["query"]))
        assert series, f"{rule['name']}: {_bool(rule['query'])} returned nothing"
        wanted = _annotation_labels(rule)
        for sample in series:
            assert wanted <= set(sample["metric"]), (rule["name"], wanted, sample)


def test_complaints_overdue_at_state_level_fire_and_clear(live):
    place = live.sql("SELECT DISTINCT department, district FROM complaint_current "
                     "WHERE complaint_id = ANY(%s)", live.abandoned)
    assert len(place) == 1
    department, district = place[0]

    def ours(alerts):
        return [a for a in alerts if a["labels"].get("department") == department
                and a["labels"].get("district") == district]

    firing = wait_for(lambda: ours(live.alerts("OverdueAtStateLevel")), 60,
                      "OverdueAtStateLevel firing")
    assert firing[0]["labels"]["severity"] == "critical"
    assert float(firing[0]["value"]) >= 3
    assert "overdue at state level" in firing[0]["annotations"]["summary"]

    # The cause goes away: each complaint overdue there gets a proposed resolution from
    # the officer who holds it now.
    overdue = live.sql("SELECT complaint_id, officer_id FROM complaint_current "
                       "WHERE department = %s AND district = %s AND level = 4 "
                       "AND status = 'assigned' AND due_at < now()", department, district)
    publisher = EventPublisher(live.settings)
    for complaint_id, officer_id in overdue:
        publisher.send(COMPLAINT_COMMANDS.name, complaint_id, OfficerActed(
            event_id=str(uuid.uuid4()), complaint_id=complaint_id,
            occurred_at=CLOCK_END + timedelta(minutes=1), officer_id=officer_id,
            action="resolution_proposed"))
    publisher.flush()
    wait_for(lambda: (live.healthy(), not ours(
        live.alerts("OverdueAtStateLevel", "firing")
        + live.alerts("OverdueAtStateLevel", "pending")))[1], 60,
        "OverdueAtStateLevel cleared")


def test_a_dead_letter_burst_fires(live):
    source = live.settings.topic(COMPLAINTS_SUBMITTED.name)
    firing = wait_for(lambda: [a for a in live.alerts("DeadLetterRateHigh")
                               if a["labels"]["source_topic"] == source], 60,
                      "DeadLetterRateHigh firing")
    assert float(firing[0]["value"]) > 1  # dead letters a minute


def test_the_sink_killed_fires_sink_down_and_it_clears_when_it_is_back(live):
    instance = f"127.0.0.1:{live.settings.sink_metrics_port}"

    def ours(state):
        return [a for a in live.alerts("SinkDown", state)
                if a["labels"]["instance"] == instance]

    # Before: the worker and the sink are up, and nothing says otherwise (a worker serves
    # an unset sankalp_sink_postgres_up too, which once fired SinkDown).
    assert live.alerts("SinkDown", "firing") + live.alerts("SinkDown", "pending") == []
    assert live.alerts("WorkerDown", "firing") + live.alerts("WorkerDown", "pending") == []
    live.sink.kill()  # a crash keeps its target file: Prometheus sees it down
    firing = wait_for(lambda: ours("firing"), 60, "SinkDown firing")
    assert firing[0]["labels"]["job"] == "sankalp-sink"
    live.sink = SinkProcess(live.settings, live.sink.log_file).start()  # stopped at the end
    live.sink.wait_ready(60)
    wait_for(lambda: not ours("firing") and not ours("pending"), 60, "SinkDown cleared")
