"""The complaint lifecycle on the real broker, with a real worker in event-time mode.

One worker serves this module's scenarios (each on its own complaint ids); the restart
scenario runs its own worker so it can be stopped mid-way.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from harness import Pipeline
from kit.settings import own_topics, settings_for

from core.reference import find_block
from devstack.runners import WorkerProcess
from schemas.events import (
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintReopened,
    DuplicateLinked,
    OverdueAtState,
    SlaWarning,
)
from streams.admin import ensure_topics
from streams.topics import ALL_TOPICS, COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST
WATER = dict(category="drinking_water_supply", district="Shimla", block="Theog")


def new_id(prefix: str = "HP") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture(scope="module")
def event_time_settings(services, tmp_path_factory):
    """One module's settings: the worker of `pipeline` serves all its scenarios."""
    with own_topics(settings_for("lifecycle", services, tmp_path_factory.mktemp("lifecycle"),
                                 clock="event", tick_interval_seconds=0.1,
                                 verification_sample_rate=0.0)) as settings:
        ensure_topics(settings, ALL_TOPICS)
        yield settings


@pytest.fixture(scope="module")
def pipeline(event_time_settings):
    worker = WorkerProcess(event_time_settings,
                           event_time_settings.stack_dir / "worker.log").start()
    try:
        worker.wait_ready(120)
        harness = Pipeline(event_time_settings, worker)
        yield harness
        harness.close()
    finally:
        assert worker.stop() == 0, worker.tail()


def registered(pipeline: Pipeline, complaint_id: str, at: datetime = T0,
               **where) -> ComplaintAssigned:
    pipeline.submit(complaint_id, at, **{**WATER, **where})
    return pipeline.wait_for(f"{complaint_id} assigned",
                             lambda: pipeline.of(complaint_id, ComplaintAssigned))[0]


def test_a_complaint_climbs_block_to_state_by_lapses_under_the_test_clock(pipeline):
    t0 = pipeline.fresh_start(T0)
    cid = new_id()
    first = registered(pipeline, cid, t0)
    assert first.level == 1 and first.officer_id == "OFF-JSV-L1-SHIMLA-THEOG"
    due = first.due_at
    for level in (2, 3, 4):
        pipeline.advance_clock(due + timedelta(seconds=1))
        escalation = pipeline.wait_for(
            f"escalation to level {level}",
            lambda level=level: [e for e in pipeline.of(cid, ComplaintEscalated)
                                 if e.to_level == level])[0]
        assert escalation.cause == "deadline_missed"
        assert escalation.occurred_at == due  # fired at the due moment in event time
        due = escalation.due_at
    pipeline.advance_clock(due + timedelta(days=2, hours=1))
    pipeline.wait_for("overdue at state", lambda: pipeline.of(cid, OverdueAtState))
    warnings = pipeline.of(cid, SlaWarning)
    assert sorted({(w.level, w.fraction) for w in warnings}) == [
        (level, f) for level in (1, 2, 3, 4) for f in (0.5, 0.75)]
    escalations = pipeline.of(cid, ComplaintEscalated)
    assert [(e.from_level, e.to_level) for e in escalations] == [(1, 2), (2, 3), (3, 4)]
    state = pipeline.wait_for("state at level 4",
                              lambda: (s := pipeline.state(cid)) and s.overdue_at_state and s)
    assert state.level == 4 and state.status == "assigned"


def test_not_satisfied_escalates_and_satisfied_closes(pipeline):
    t0 = pipeline.fresh_start(T0)
    cid = new_id()
    first = registered(pipeline, cid, t0)
    at = t0 + timedelta(hours=3)
    pipeline.act(cid, at, first.officer_id, "resolution_proposed")
    pipeline.feedback(cid, at + timedelta(hours=1), "not_satisfied")
    up = pipeline.wait_for("escalation", lambda: pipeline.of(cid, ComplaintEscalated))[0]
    assert (up.cause, up.from_level, up.to_level) == ("citizen_not_satisfied", 1, 2)
    pipeline.act(cid, at + timedelta(hours=2), up.to_officer, "resolution_proposed")
    pipeline.feedback(cid, at + timedelta(hours=3), "satisfied")
    closed = pipeline.wait_for("closed", lambda: pipeline.of(cid, ComplaintClosed))[0]
    assert closed.reason == "citizen_satisfied" and closed.level == 2


def test_failed_verification_reopens(pipeline):
    t0 = pipeline.fresh_start(T0)
    cid = new_id()
    first = registered(pipeline, cid, t0)
    at = t0 + timedelta(hours=1)
    pipeline.act(cid, at, first.officer_id, "resolution_proposed")
    pipeline.feedback(cid, at, "satisfied")
    pipeline.wait_for("closed", lambda: pipeline.of(cid, ComplaintClosed))
    pipeline.verify(cid, at + timedelta(days=1), "failed")
    reopened = pipeline.wait_for("reopened", lambda: pipeline.of(cid, ComplaintReopened))[0]
    assert reopened.cause == "verification_failed"
    up = pipeline.wait_for("escalated", lambda: pipeline.of(cid, ComplaintEscalated))[0]
    assert up.cause == "verification_failed" and up.to_level == 2


def test_a_transfer_reroutes(pipeline):
    t0 = pipeline.fresh_start(T0)
    cid = new_id()
    first = registered(pipeline, cid, t0)
    pipeline.act(cid, t0 + timedelta(hours=1), first.officer_id, "transfer_requested",
                 reason="road cut by the water line: PWD's work", target_department="PWD")
    moved = pipeline.wait_for(
        "transferred", lambda: [a for a in pipeline.of(cid, ComplaintAssigned)
                                if a.cause == "transferred"])[0]
    assert moved.department == "PWD" and moved.level == 1
    assert moved.officer_id.startswith("OFF-PWD-L1-")


def test_a_duplicate_is_linked_not_opened_again(pipeline):
    t0 = pipeline.fresh_start(T0)
    original, again = new_id(), new_id()
    registered(pipeline, original, t0, phone="9816000777")
    pipeline.submit(again, t0 + timedelta(hours=2), **WATER, phone="9816000777",
                    channel="whatsapp")
    linked = pipeline.wait_for("duplicate", lambda: pipeline.of(again, DuplicateLinked))[0]
    assert linked.duplicate_of == original
    pipeline.poll(1.0)
    assert pipeline.of(again, ComplaintAssigned) == []


def test_invalid_events_go_to_the_dead_letters_and_the_agent_keeps_running(pipeline):
    t0 = pipeline.fresh_start(T0)
    bad_key = new_id("BAD")
    pipeline.raw(COMPLAINTS_SUBMITTED.name, bad_key.encode(), b"{not json")
    pipeline.raw(COMPLAINT_COMMANDS.name, bad_key.encode(),
                 b'{"event_type": "officer.acted", "schema_version": 1}')
    pipeline.submit(new_id(), t0, category="teleportation", district="Shimla", block="Theog")

    def ours():
        found = [d for d in pipeline.dead_letters
                 if d.key == bad_key or "teleportation" in d.reason]
        return found if len(found) >= 3 else None

    letters = pipeline.wait_for("three dead letters", ours)
    reasons = " | ".join(d.reason for d in letters)
    assert "not valid UTF-8 JSON" in reasons
    assert "missing field" in reasons
    assert "teleportation" in reasons
    assert any(d.original() == b"{not json" for d in letters)
    # ... and the pipeline still works.
    registered(pipeline, new_id(), t0)


def test_personal_data_stays_off_public_topics(pipeline):
    t0 = pipeline.fresh_start(T0)
    cid = new_id()
    registered(pipeline, cid, t0, phone="9816123456")
    pipeline.poll(0.5)
    public = [e.to_json() for e in pipeline.events] + [
        s.to_json() for s in pipeline.states.values()]
    assert not any(b"9816123456" in p or "परीक्षण नागरिक".encode() in p for p in public)


def test_worker_restarted_mid_way_fires_the_pending_deadline_exactly_once(test_settings,
                                                                            tmp_path):
    settings = test_settings.with_overrides(clock="event", tick_interval_seconds=0.1,
                                            session_timeout_seconds=6.0)
    ensure_topics(settings, ALL_TOPICS)
    log = tmp_path / "worker.log"
    worker = WorkerProcess(settings, log).start()
    harness = Pipeline(settings, worker)
    try:
        worker.wait_ready(120)
        cid = new_id()
        first = registered(harness, cid)
        worker.kill()  # a crash, not a clean stop; and the local store is lost too
        shutil.rmtree(settings.worker_data_dir, ignore_errors=True)

        worker = WorkerProcess(settings, log).start()
        harness.worker = worker
        worker.wait_ready(120)
        harness.advance_clock(first.due_at + timedelta(seconds=1))
        harness.wait_for("escalation after restart",
                         lambda: harness.of(cid, ComplaintEscalated))
        # More ticks past the same due time, and a second restart: still exactly one.
        harness.advance_clock(first.due_at + timedelta(seconds=2))
        assert worker.stop() == 0, worker.tail()
        worker = WorkerProcess(settings, log).start()
        harness.worker = worker
        worker.wait_ready(120)
        harness.advance_clock(first.due_at + timedelta(seconds=3))
        harness.poll(3.0)
        lapses = [e for e in harness.of(cid, ComplaintEscalated) if e.from_level == 1]
        assert len({e.event_id for e in lapses}) == 1, lapses
        state = harness.wait_for("state", lambda: harness.state(cid))
        assert state.level == 2 and state.escalations == 1
    finally:
        harness.close()
        worker.stop()


def test_an_officer_transfer_on_the_directory_topic_takes_effect_without_restart(pipeline):
    from schemas.directory import OfficerPost
    from streams.topics import OFFICER_DIRECTORY

    t0 = pipeline.fresh_start(T0)
    before = registered(pipeline, new_id(), t0, district="Kullu", block="Banjar")
    post = OfficerPost(post_id="JSV/L1/Kullu/Banjar", department="JSV", level=1,
                       district="Kullu", tehsil=find_block("Kullu", "Banjar").tehsil,
                       block="Banjar", officer_id="OFF-JSV-L1-KULLU-BANJAR-NEW",
                       designation="Junior Engineer")
    pipeline.publisher.send(OFFICER_DIRECTORY.name, post.post_id, post)
    pipeline.publisher.flush()
    assert before.officer_id != post.officer_id

    def routed_to_new_officer():
        # Keep registering until the worker has read the transfer (it follows the topic).
        cid = new_id()
        assigned = registered(pipeline, cid, t0, district="Kullu", block="Banjar")
        return assigned.officer_id == post.officer_id

    pipeline.wait_for("the new officer to receive complaints", routed_to_new_officer, 60)
