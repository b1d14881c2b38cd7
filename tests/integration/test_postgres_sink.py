"""The Postgres sink on the real broker and the real Postgres.

The events are those the lifecycle core produces for a known scenario, published to the
pipeline's output topics; the sink must turn them into exactly the expected rows and
metric values, survive replays and restarts without loss or duplicates, and wait out a
Postgres outage.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg2
import pytest
from prometheus_client import generate_latest

from core.lifecycle import Context, decide, snapshot
from core.reference import OfficerDirectory, build_officer_directory
from schemas.contacts import CitizenContact
from schemas.events import (
    CitizenFeedback,
    ClockTick,
    ComplaintRegistered,
    LapseRecorded,
    OfficerActed,
)
from sinks.metrics import Metrics
from sinks.migrate import MigrationsPending, migrate
from sinks.postgres import connect
from sinks.postgres_sink import PostgresSink
from sinks.rows import LAPSE_COLUMNS
from streams.admin import ensure_topics
from streams.producer import EventPublisher
from streams.topics import (
    ALL_TOPICS,
    CITIZEN_CONTACTS,
    COMPLAINT_COMMANDS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
)

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
CTX = Context(directory=OfficerDirectory(build_officer_directory()))
TABLES = ("complaint_current", "complaint_event", "escalation", "lapse", "citizen_contact")


def _apply(published: list, cid: str, command, state=None):
    decision = decide(state, command, CTX)
    if decision.state is not None and decision.state != state:
        published.append((COMPLAINT_STATE.name, cid, snapshot(decision.state)))
    for event in decision.events:
        published.append((COMPLAINT_EVENTS.name, cid, event))
    return decision.state


def scenario(n_complaints: int = 3, prefix: str = "HP-S"):
    """Complaint 0 lapses twice; complaint 1 closes satisfied; the rest stay at level 1."""
    published: list = []
    for i in range(n_complaints):
        cid = f"{prefix}-{i:05d}"
        state = _apply(published, cid, ComplaintRegistered(
            event_id=f"{cid}-r", complaint_id=cid, occurred_at=T0, channel="portal",
            category="drinking_water_supply", district="Mandi", block="Gohar",
            text="पानी", citizen_ref=f"ref-{i}"))
        published.append((CITIZEN_CONTACTS.name, cid, CitizenContact(
            complaint_id=cid, citizen_ref=f"ref-{i}", citizen_phone=f"98160{i:05d}",
            citizen_name="नाम")))
        if i == 0:
            for n in (1, 2):
                state = _apply(published, cid, ClockTick(
                    event_id=f"{cid}-t{n}", complaint_id=cid, occurred_at=state.due_at), state)
        elif i == 1:
            at = T0 + timedelta(hours=5)
            state = _apply(published, cid, OfficerActed(
                event_id=f"{cid}-a", complaint_id=cid, occurred_at=at,
                officer_id=state.officer_id, action="resolution_proposed"), state)
            _apply(published, cid, CitizenFeedback(
                event_id=f"{cid}-f", complaint_id=cid, occurred_at=at + timedelta(hours=1),
                outcome="satisfied"), state)
    return published


def overdue_at_state(cid: str, reminders: int) -> list[list]:
    """A complaint that lapses up to the state level and is reminded there `reminders`
    times: the records published at each step (registration and the three deadlines, then
    one step per later reminder)."""
    steps: list[list] = [[]]
    state = _apply(steps[0], cid, ComplaintRegistered(
        event_id=f"{cid}-r", complaint_id=cid, occurred_at=T0, channel="portal",
        category="drinking_water_supply", district="Mandi", block="Gohar", text="पानी",
        citizen_ref="ref-state"))
    n = 0
    while state.reminders < reminders:
        wake = state.next_reminder_at if state.overdue_at_state else state.due_at
        if state.reminders:
            steps.append([])
        n += 1
        state = _apply(steps[-1], cid, ClockTick(
            event_id=f"{cid}-t{n}", complaint_id=cid, occurred_at=wake), state)
    return steps


def publish(settings, records) -> None:
    publisher = EventPublisher(settings)
    for topic, key, record in records:
        publisher.send(topic, key, record)
    publisher.flush()


def table_dump(conn) -> dict[str, list[tuple]]:
    out = {}
    with conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT * FROM {table} ORDER BY 1")
            out[table] = cur.fetchall()
    conn.rollback()
    return out


def count(conn, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    conn.rollback()
    return value


def metric(metrics: Metrics, name: str, **labels) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
def sink_settings(test_settings, pg_url):
    settings = test_settings.with_overrides(database_url=pg_url)
    ensure_topics(settings, ALL_TOPICS)
    conn = connect(pg_url)
    migrate(conn)
    conn.close()
    return settings


def run_sink(settings, metrics: Metrics | None = None, **kwargs) -> PostgresSink:
    sink = PostgresSink(settings, metrics, gauge_every=0.2, **kwargs)
    sink.run(idle_exit_after=3.0)
    return sink


def test_known_scenario_gives_the_expected_rows_and_metrics(sink_settings, pg_url):
    publish(sink_settings, scenario())
    # Three commands no worker has consumed yet: the workers' group lags by three.
    publish(sink_settings, [(COMPLAINT_COMMANDS.name, "HP-LAG", ClockTick(
        event_id=f"lag-{n}", complaint_id="HP-LAG", occurred_at=T0)) for n in range(3)])
    metrics = Metrics()
    sink = run_sink(sink_settings, metrics)
    assert sink.rows_written > 0
    conn = psycopg2.connect(pg_url)
    try:
        rows = {r[0]: r for r in table_dump(conn)["complaint_current"]}
        assert set(rows) == {"HP-S-00000", "HP-S-00001", "HP-S-00002"}
        with conn.cursor() as cur:
            cur.execute("SELECT complaint_id, level, status FROM complaint_current ORDER BY 1")
            assert cur.fetchall() == [("HP-S-00000", 3, "assigned"),
                                      ("HP-S-00001", 1, "closed"),
                                      ("HP-S-00002", 1, "assigned")]
            cur.execute("SELECT from_level, to_level, cause FROM escalation ORDER BY 1")
            assert cur.fetchall() == [(1, 2, "deadline_missed"), (2, 3, "deadline_missed")]
            cur.execute("SELECT officer_id, level, kind FROM lapse ORDER BY level")
            lapses = cur.fetchall()
            assert [(level, kind) for _, level, kind in lapses] == [
                (1, "deadline_missed"), (2, "deadline_missed")]
            assert lapses[0][0] == "OFF-JSV-L1-MANDI-GOHAR"
            # one row per lapse, from the core's lapse records: the officer held it for
            # exactly the time limit (7 working days), then it moved up
            records = {e.lapse_id: e for _, _, e in scenario() if isinstance(e, LapseRecorded)}
            cur.execute(f"SELECT {', '.join(LAPSE_COLUMNS)} FROM lapse ORDER BY level")
            assert cur.fetchall() == [
                (e.lapse_id, e.event_id, e.complaint_id, e.officer_id, e.level, e.department,
                 e.district, e.assigned_at, e.due_at, e.due_at, 0, "deadline_missed", 7, 7)
                for e in sorted(records.values(), key=lambda e: e.level)]
            cur.execute("SELECT count(*) FROM citizen_contact")
            assert cur.fetchone() == (3,)
            cur.execute("SELECT department, district, closed, closed_in_time, compliance "
                        "FROM report_sla_compliance")
            assert cur.fetchall() == [("JSV", "Mandi", 1, 1, 1)]
            cur.execute("SELECT level, sum(pending) FROM report_pending_by_level_age "
                        "GROUP BY 1 ORDER BY 1")
            assert cur.fetchall() == [(1, 1), (3, 1)]
            cur.execute("SELECT lapsed FROM report_officer_scorecard WHERE officer_id = %s",
                        ("OFF-JSV-L1-MANDI-GOHAR",))
            assert cur.fetchone() == (1,)
            cur.execute("SELECT lapsed, overdue_seconds, lapsed_held_working_days, "
                        "lapsed_limit_working_days FROM report_officer_scorecard "
                        "WHERE officer_id = %s", ("OFF-JSV-L1-MANDI-GOHAR",))
            assert cur.fetchone() == (1, 0, 7, 7)
        conn.rollback()
    finally:
        conn.close()
    # Metrics: counted once the rows were durable, gauges from the table.
    assert metric(metrics, "sankalp_complaints_registered_total", channel="portal",
                  department="JSV", district="Mandi") == 3
    assert metric(metrics, "sankalp_complaints_escalated_total", cause="deadline_missed",
                  from_level="1", department="JSV", district="Mandi") == 1
    assert metric(metrics, "sankalp_complaints_closed_total", reason="citizen_satisfied",
                  department="JSV", district="Mandi") == 1
    assert metric(metrics, "sankalp_complaints_open", level="1", department="JSV",
                  district="Mandi") == 1
    assert metric(metrics, "sankalp_complaints_open", level="3", department="JSV",
                  district="Mandi") == 1
    assert metric(metrics, "sankalp_sink_postgres_up") == 1
    assert metric(metrics, "sankalp_consumer_lag_messages", consumer=sink_settings.app_id,
                  topic=sink_settings.topic(COMPLAINT_COMMANDS.name)) == 3
    exposition = generate_latest(metrics.registry).decode()
    assert "HP-S-0000" not in exposition and "OFF-" not in exposition  # bounded labels only


def sink_role_url(pg_url: str, login: str) -> str:
    """pg_url (and its schema), logged in as `login` (the local stack trusts loopback)."""
    parts = urlsplit(pg_url)
    return parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port}").geturl()


def test_a_state_level_lapse_is_one_row_whose_overdue_grows_with_each_reminder(
        sink_settings, pg_url):
    """Run as the sink's own role (migration 0003, UPDATE on lapse from 0004): every
    reminder re-records the lapse; the row keeps the record furthest past due, and an
    earlier reminder sent again does not turn it back."""
    steps = overdue_at_state("HP-STATE-1", reminders=3)
    login = f"t_sink_{uuid.uuid4().hex[:8]}"
    owner = psycopg2.connect(pg_url)
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE sankalp_sink')
    settings = sink_settings.with_overrides(database_url=sink_role_url(pg_url, login))

    def state_row() -> tuple:
        with owner.cursor() as cur:
            cur.execute("SELECT count(*) FROM lapse")
            assert cur.fetchone() == (4,)  # levels 1, 2, 3 and the state level
            cur.execute("SELECT lapse_id, event_id, officer_id, overdue_seconds, "
                        "held_working_days, limit_working_days FROM lapse WHERE level = 4")
            [row] = cur.fetchall()
            return row

    def records(step: list) -> list[LapseRecorded]:
        return [e for _, _, e in step if isinstance(e, LapseRecorded) and e.level == 4]

    try:
        publish(settings, steps[0])
        run_sink(settings)
        [first] = records(steps[0])
        assert state_row() == (first.lapse_id, first.event_id, first.officer_id, 0, 7, 7)
        publish(settings, steps[1] + steps[2])
        run_sink(settings)
        latest = records(steps[2])[-1]
        assert latest.reminder == 3 and latest.lapse_id == first.lapse_id
        assert state_row() == (first.lapse_id, latest.event_id, first.officer_id, 2 * 86400,
                               latest.held_working_days, 7)
        assert latest.held_working_days > 7
        publish(settings, steps[0] + steps[1])  # redelivered, older reminders
        run_sink(settings)
        assert state_row()[1:4] == (latest.event_id, first.officer_id, 2 * 86400)
        with owner.cursor() as cur:
            cur.execute("SELECT lapsed, overdue_seconds FROM report_officer_scorecard "
                        "WHERE officer_id = %s", (first.officer_id,))
            assert cur.fetchone() == (1, 2 * 86400)
    finally:
        with owner.cursor() as cur:
            cur.execute(f'DROP ROLE "{login}"')
        owner.close()


def test_gauges_are_right_after_a_restart(sink_settings):
    publish(sink_settings, scenario())
    run_sink(sink_settings)
    fresh = Metrics()  # a restarted sink: nothing new to read, gauges from Postgres
    run_sink(sink_settings, fresh)
    assert metric(fresh, "sankalp_complaints_open", level="1", department="JSV",
                  district="Mandi") == 1
    assert metric(fresh, "sankalp_complaints_registered_total", channel="portal",
                  department="JSV", district="Mandi") == 0  # a counter starts again


def test_replaying_the_topics_leaves_identical_tables(sink_settings, pg_url):
    publish(sink_settings, scenario())
    run_sink(sink_settings)
    conn = psycopg2.connect(pg_url)
    try:
        first = table_dump(conn)
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM sink_offset")  # forget the position: replay it all
        publish(sink_settings, scenario())  # ... and the producer re-sent everything too
        run_sink(sink_settings)
        assert table_dump(conn) == first
    finally:
        conn.close()


def test_stopping_the_sink_mid_way_loses_and_doubles_nothing(sink_settings, pg_url):
    records = scenario(n_complaints=40, prefix="HP-M")
    publish(sink_settings, records)
    first = PostgresSink(sink_settings, max_batch=7)
    original_write = first.write

    def write_then_stop(batch):
        original_write(batch)
        if first.batches_written >= 3:
            first.stop()

    first.write = write_then_stop
    first.run(idle_exit_after=5.0)
    conn = psycopg2.connect(pg_url)
    try:
        expected_events = sum(1 for t, _, _ in records if t == COMPLAINT_EVENTS.name)
        everything = expected_events + 40 + 40  # events, current states, contacts
        partial = sum(count(conn, f"SELECT count(*) FROM {t}") for t in
                      ("complaint_event", "complaint_current", "citizen_contact"))
        assert 0 < partial < everything  # it really stopped part-way
        run_sink(sink_settings)
        assert count(conn, "SELECT count(*) FROM complaint_event") == expected_events
        assert count(conn, "SELECT count(*) FROM complaint_current") == 40
        assert count(conn, "SELECT count(*) FROM citizen_contact") == 40
    finally:
        conn.close()


def test_the_sink_refuses_to_start_on_an_unmigrated_database(test_settings, pg_url):
    with pytest.raises(MigrationsPending, match="sankalp db migrate"):
        PostgresSink(test_settings.with_overrides(database_url=pg_url)).run(
            idle_exit_after=1)


def test_reporting_role_cannot_read_personal_data(sink_settings, pg_url):
    publish(sink_settings, scenario(n_complaints=1))
    run_sink(sink_settings)
    conn = psycopg2.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE sankalp_reporting")
            cur.execute("SELECT count(*) FROM complaint_current")
            assert cur.fetchone() == (1,)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT citizen_phone FROM citizen_contact")
    finally:
        conn.rollback()
        conn.close()


def test_postgres_stopped_and_restarted_under_load_loses_nothing(local_stack, test_settings,
                                                                 tmp_path):
    """A Postgres of its own (other port), stopped and started while the sink runs."""
    from devstack.postgres import LocalPostgres

    pg = LocalPostgres(home=tmp_path / "pg", logs=tmp_path / "logs", port=55498)
    url = pg.up()
    try:
        settings = test_settings.with_overrides(database_url=url,
                                                app_id=f"{test_settings.app_id}-outage")
        ensure_topics(settings, ALL_TOPICS)
        conn = connect(url)
        migrate(conn)
        conn.close()
        metrics = Metrics()
        sink = PostgresSink(settings, metrics, max_batch=50, gauge_every=0.5)
        worker = threading.Thread(target=sink.run, kwargs={"idle_exit_after": 8.0})
        worker.start()
        first = scenario(n_complaints=60, prefix=f"HP-{uuid.uuid4().hex[:4].upper()}")
        publish(settings, first[: len(first) // 2])
        time.sleep(1.5)  # let it write some, then pull the plug mid-stream
        pg.down()
        publish(settings, first[len(first) // 2:])
        deadline = time.monotonic() + 20
        while metric(metrics, "sankalp_sink_postgres_up") != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metric(metrics, "sankalp_sink_postgres_up") == 0
        pg.up()
        worker.join(120)
        assert not worker.is_alive()
        conn = psycopg2.connect(url)
        try:
            expected = sum(1 for t, _, _ in first if t == COMPLAINT_EVENTS.name)
            assert count(conn, "SELECT count(*) FROM complaint_event") == expected
            assert count(conn, "SELECT count(*) FROM complaint_current") == 60
        finally:
            conn.close()
        assert metric(metrics, "sankalp_sink_postgres_up") == 1
    finally:
        pg.down()
        pg.wipe()


def test_an_event_shows_in_the_metrics_while_the_sink_runs(sink_settings):
    metrics = Metrics()
    sink = PostgresSink(sink_settings, metrics, gauge_every=1.0)
    runner = threading.Thread(target=sink.run)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while sink._assigned_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = time.monotonic()
        publish(sink_settings, scenario(n_complaints=1, prefix="HP-LIVE"))
        while time.monotonic() < deadline:
            counted = metric(metrics, "sankalp_complaints_registered_total", channel="portal",
                             department="JSV", district="Mandi")
            gauged = metric(metrics, "sankalp_complaints_open", level="3", department="JSV",
                            district="Mandi")
            if counted == 1 and gauged == 1:
                break
            time.sleep(0.05)
        print(f"\nan event reached the counters and gauges {time.monotonic() - sent:.2f}s "
              "after it was published")
        assert counted == 1 and gauged == 1
    finally:
        sink.stop()
        runner.join(30)
