"""`sankalp backtest`: the pipeline's decisions in one process (bench/backtest.py).

Small seeded scenarios: the same stream gives the same outputs; intake links duplicates and
refuses a caller over the limit as the intake agent does; a deadline fires at its own
moment; counting the repeated state-level reminders and splitting callers into shards
change no figure; a lenient and a strict policy escalate in the expected order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.backtest import (
    Backtest,
    PolicyFileError,
    Source,
    Summary,
    comparison_lines,
    load_policy,
    plot_comparison,
    policy_from_dict,
    recorded,
    run_compare,
    run_one,
    run_sharded,
)
from core.intake import IntakeRules, citizen_ref
from core.lifecycle import Context, decide, derived_id, next_wakeup, snapshot
from core.reference import OfficerDirectory, build_officer_directory
from schemas.events import (
    CitizenFeedback,
    ClockTick,
    ComplaintAssigned,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSubmitted,
    DuplicateLinked,
    LapseRecorded,
    OfficerActed,
    OverdueAtState,
    SlaWarning,
)
from simulator.traffic import Traffic, TrafficProfile
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST
WATER = dict(category="drinking_water_supply", district="Shimla", block="Theog")
PROFILE = TrafficProfile(seed=7, days=20, complaints_per_day=15, jan_manch_size=5)
# Long enough after the traffic for complaints nobody acts on to reach level 4 and be
# reminded there day after day.
UNTIL = PROFILE.start + timedelta(days=PROFILE.days + 50)


def traffic(profile: TrafficProfile = PROFILE) -> list:
    return list(Traffic(profile))


def submitted(cid: str, at: datetime, phone: str = "9816012345", **where) -> ComplaintSubmitted:
    return ComplaintSubmitted(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cid}/{at.isoformat()}")),
        complaint_id=cid, occurred_at=at, channel="phone_1100", text="पानी नहीं आ रहा",
        citizen_phone=phone, citizen_name="परीक्षण", **{**WATER, **where})


@pytest.fixture(scope="module")
def exact() -> Backtest:
    """The seeded scenario, every event kept, every reminder through the core."""
    return Backtest().run(traffic(), until=UNTIL)


def figures(summary: Summary) -> dict:
    """What a run found, without how it ran (time, ticks, folded reminders)."""
    skip = {"seconds", "ticks", "folded_reminders"}
    return {f.name: getattr(summary, f.name) for f in fields(summary) if f.name not in skip}


# --- the run ------------------------------------------------------------------------------


def test_a_seeded_scenario_registers_routes_warns_escalates_and_closes(exact):
    backtest = exact
    summary = backtest.summary()
    subs = [e for e in traffic() if isinstance(e, ComplaintSubmitted)]
    assert summary.submitted == len(subs) == summary.intake["registered"]
    assert set(backtest.states) == {s.complaint_id for s in subs}
    routed = [e for e in backtest.events.values()
              if isinstance(e, ComplaintAssigned) and e.cause == "routed"]
    assert len(routed) == len(subs)
    kinds = summary.events_by_type
    for kind in ("sla.warning", "complaint.escalated", "complaint.lapse_recorded",
                 "complaint.closed", "callback.requested", "complaint.overdue_at_state"):
        assert kinds.get(kind, 0) > 0, kind
    assert summary.outputs == len(backtest.events) == sum(kinds.values())
    assert 0 < summary.closed_in_time <= summary.closed
    assert summary.overdue_at_state > 0
    assert sum(summary.escalations.values()) == kinds["complaint.escalated"]
    # every registration's event id derives from its submission, as the intake agent's
    for s in subs:
        assert backtest.states[s.complaint_id].applied[0] == derived_id(s.event_id,
                                                                        "registered")
    text = "\n".join(summary.lines())
    assert "SLA compliance" in text and "deadline_missed" in text


def test_the_same_stream_gives_the_same_events_and_states(exact):
    first = exact
    again = Backtest().run(traffic(), until=UNTIL)
    assert {i: e.to_json() for i, e in first.events.items()} == {
        i: e.to_json() for i, e in again.events.items()}
    assert {c: snapshot(s) for c, s in first.states.items()} == {
        c: snapshot(s) for c, s in again.states.items()}
    other = Backtest().run(traffic(TrafficProfile(seed=8, days=5, complaints_per_day=20)),
                           until=UNTIL)
    assert set(other.events) != set(first.events)


def test_it_decides_as_the_core_does_one_complaint_at_a_time(exact):
    """Each complaint's events are what `decide` gives for its own commands in order, with
    ticks at its wake-ups: no complaint sees another's."""
    events = traffic()
    backtest = exact
    ctx = Context(directory=OfficerDirectory(build_officer_directory()))
    key = "change-me-in-production"
    for s in [e for e in events if isinstance(e, ComplaintSubmitted)][:25]:
        cid = s.complaint_id
        commands = [ComplaintRegistered(
            event_id=derived_id(s.event_id, "registered"), complaint_id=cid,
            occurred_at=s.occurred_at, channel=s.channel, category=s.category,
            district=s.district, block=s.block, text=s.text,
            citizen_ref=citizen_ref(s.citizen_phone, key))]
        commands += [e for e in events if e.complaint_id == cid and e is not s]
        state, out = None, []
        for command in [*commands, ClockTick(event_id="end", complaint_id=cid,
                                             occurred_at=UNTIL)]:
            decision = decide(state, command, ctx)
            state, out = decision.state, [*out, *decision.events]
        assert next_wakeup(state, ctx.policy) is None or next_wakeup(state, ctx.policy) > UNTIL
        mine = {i: e for i, e in backtest.events.items() if e.complaint_id == cid}
        assert {e.event_id: e for e in out} == mine
        assert snapshot(state) == snapshot(backtest.states[cid])


# --- intake -------------------------------------------------------------------------------


def test_intake_links_a_duplicate_and_refuses_a_caller_over_the_limit():
    backtest = Backtest(intake_rules=IntakeRules(daily_limit=2))
    first = submitted("HP-A1", T0)
    again = submitted("HP-A2", T0 + timedelta(hours=1))  # same caller, category and place
    other = submitted("HP-A3", T0 + timedelta(hours=2), category="street_light")
    third = submitted("HP-A4", T0 + timedelta(hours=3), category="road_repair")
    stranger = submitted("HP-B1", T0 + timedelta(hours=4), phone="9816099999",
                         category="road_repair")
    nowhere = submitted("HP-C1", T0 + timedelta(hours=5), block="Atlantis")
    backtest.run([first, again, other, third, stranger, nowhere])
    linked = backtest.events[derived_id(again.event_id, "duplicate")]
    assert isinstance(linked, DuplicateLinked) and linked.duplicate_of == "HP-A1"
    assert set(backtest.states) == {"HP-A1", "HP-A3", "HP-B1"}
    reasons = {(d.complaint_id, d.topic, d.reason) for d in backtest.dead_letters}
    assert ("HP-A4", "complaints.intake-by-citizen.v1",
            "caller limit: more than 2 complaints today") in reasons
    [invalid] = [d for d in backtest.dead_letters if d.complaint_id == "HP-C1"]
    assert invalid.topic == "complaints.submitted.v1" and "Atlantis" in invalid.reason
    assert backtest.summary().intake == {"registered": 3, "duplicate": 1, "limited": 1,
                                         "invalid": 1}
    # the same submission again is answered as before, not decided anew
    backtest.feed(first)
    assert len(backtest.events) == 4 and set(backtest.states) == {"HP-A1", "HP-A3", "HP-B1"}


def test_a_command_for_no_complaint_is_held_then_refused_and_dead_lettered():
    """As the worker: held for its registration (core/pending.py) a day after its time,
    then refused."""
    backtest = Backtest()
    command = CitizenFeedback(event_id="f-1", complaint_id="HP-NONE", occurred_at=T0,
                              outcome="satisfied")
    backtest.run([command], until=T0 + timedelta(hours=23))
    assert not backtest.events and not backtest.dead_letters
    backtest.advance(T0 + timedelta(days=1))
    [rejected] = backtest.events.values()
    reason = ("no such complaint is registered (held 1440 min for its registration, "
              "SANKALP_HELD_COMMAND_MAX_AGE_MINUTES)")
    assert rejected.reason == reason
    assert [(d.topic, d.event_id, d.reason) for d in backtest.dead_letters] == [
        ("complaints.commands.v1", "f-1", f"refused: {reason}")]
    assert backtest.held == {}


# --- deadlines ----------------------------------------------------------------------------


def test_a_deadline_fires_at_its_due_moment_before_a_later_input():
    backtest = Backtest()
    backtest.feed(submitted("HP-D1", T0))
    [assigned] = backtest.events.values()
    due = assigned.due_at
    assert backtest.time_index.when("HP-D1") < due  # the first warning comes first
    # an input for another complaint, dated after the deadline: the deadline fires first
    backtest.feed(submitted("HP-D2", due + timedelta(hours=1), phone="9816011111"))
    escalated = [e for e in backtest.events.values() if isinstance(e, ComplaintEscalated)]
    assert [(e.complaint_id, e.occurred_at, e.cause, e.from_level, e.to_level)
            for e in escalated] == [("HP-D1", due, "deadline_missed", 1, 2)]
    [lapse] = [e for e in backtest.events.values() if isinstance(e, LapseRecorded)]
    assert lapse.occurred_at == due and lapse.overdue_seconds == 0
    warnings = sorted((e.fraction, e.occurred_at) for e in backtest.events.values()
                      if isinstance(e, SlaWarning))
    span = due - T0
    assert warnings == [(0.5, T0 + span * 0.5), (0.75, T0 + span * 0.75)]
    # each wake-up was a tick dated at its moment, with the deadline timer's event id
    assert backtest.ticks == 3
    assert backtest.states["HP-D1"].level == 2
    assert backtest.states["HP-D1"].assigned_at == due


def test_a_watermark_fires_what_is_due_and_an_officer_after_the_lapse_finds_it_moved():
    backtest = Backtest()
    backtest.feed(submitted("HP-W1", T0))
    [assigned] = backtest.events.values()
    late = OfficerActed(event_id="act-1", complaint_id="HP-W1",
                        occurred_at=assigned.due_at + timedelta(days=1),
                        officer_id=assigned.officer_id, action="resolution_proposed")
    backtest.feed(late)
    assert backtest.events[derived_id("act-1", "rejected")].reason == (
        "only the responsible officer may act")
    end = assigned.due_at + timedelta(days=200)
    backtest.feed(ClockTick(event_id="watermark/x/0", complaint_id="CLOCK", occurred_at=end))
    state = backtest.states["HP-W1"]
    assert state.level == 4 and state.overdue_at_state and state.reminders > 100
    reminders = [e for e in backtest.events.values() if isinstance(e, OverdueAtState)]
    assert len(reminders) == state.reminders
    assert all(r.occurred_at <= end for r in reminders)


# --- how it runs does not change what it finds -------------------------------------------


def test_folding_the_state_level_reminders_changes_no_figure(exact):
    folded = Backtest(keep_events=False).run(traffic(), until=UNTIL)
    assert folded.fold_reminders and folded.folded
    assert folded.summary().folded_reminders > 0
    assert figures(folded.summary()) == figures(exact.summary())
    folded.materialize()
    assert {c: snapshot(s) for c, s in folded.states.items()} == {
        c: snapshot(s) for c, s in exact.states.items()}


def test_a_command_long_after_folded_reminders_catches_them_up_exactly():
    commands = [submitted("HP-F1", T0)]
    exact = Backtest()
    exact.run(commands, until=T0 + timedelta(days=90))
    level4 = exact.states["HP-F1"]
    assert level4.overdue_at_state
    # the state officer acknowledges it 600 days of daily reminders later
    feedback = OfficerActed(event_id="ack-1", complaint_id="HP-F1",
                            occurred_at=T0 + timedelta(days=700),
                            officer_id=level4.officer_id, action="acknowledged")
    exact.feed(feedback)
    folded = Backtest(keep_events=False)
    folded.run(commands, until=T0 + timedelta(days=90))
    assert "HP-F1" in folded.folded
    folded.feed(feedback)  # 600 days of reminders: more than one decision may fire
    assert exact.states["HP-F1"].applied[-1] == "ack-1"
    assert exact.states["HP-F1"].reminders > 550
    assert snapshot(folded.states["HP-F1"]) == snapshot(exact.states["HP-F1"])
    assert figures(folded.summary()) == figures(exact.summary())


def test_shards_of_callers_add_up_to_the_whole_run():
    events = traffic()
    whole = Backtest(keep_events=False).run(events, until=UNTIL).summary()
    parts = [Backtest(keep_events=False, shard=(i, 3)).run(events, until=UNTIL).summary()
             for i in range(3)]
    assert all(p.submitted for p in parts)
    assert figures(Summary.merge(parts)) == figures(whole)


def test_shards_run_in_processes_add_up_too():
    source = Source(days=3, rate=30, seed=4)
    alone = run_one(Settings(), source)
    apart = run_sharded(Settings(), source, jobs=2)
    assert figures(apart) == figures(alone)


# --- what-if ------------------------------------------------------------------------------


def test_policy_files_take_settings_env_names_and_the_policys_own_names(tmp_path):
    path = tmp_path / "strict.json"
    path.write_text(json.dumps({"name": "strict", "SANKALP_TRANSFER_CAP": 1,
                                "warning_fractions": [0.25, 0.5, 0.9], "max_reopens": 0,
                                "weekly_offs": [5, 6], "caller_daily_limit": 3}))
    spec = load_policy(path)
    policy = spec.settings.policy()
    assert spec.name == "strict"
    assert (policy.transfer_cap, policy.warning_fractions, policy.max_reopens) == (
        1, (0.25, 0.5, 0.9), 0)
    assert spec.settings.calendar().weekly_offs == {5, 6}
    assert spec.backtest().intake_rules.daily_limit == 3
    with pytest.raises(PolicyFileError, match="no time limit per level"):
        policy_from_dict({"sla_days_by_level": {"1": 5}})
    with pytest.raises(PolicyFileError, match="not a policy setting"):
        policy_from_dict({"kafka_bootstrap_servers": "x"})
    with pytest.raises(PolicyFileError, match="strictly between 0 and 1"):
        policy_from_dict({"warning_fractions": [1.5]})
    with pytest.raises(PolicyFileError, match="is not a int"):
        policy_from_dict({"transfer_cap": "two"})


def test_returning_unreachable_complaints_to_the_officer_escalates_more():
    """Under `return_to_officer` after one call-back attempt, an unreachable citizen's
    complaint goes back to an officer who (in the simulation) does not act again, so it
    climbs by lapses; under the default it waits for the citizen, clock stopped."""
    patient = policy_from_dict({"name": "patient"})
    strict = policy_from_dict({"name": "strict", "unreachable_rule": "return_to_officer",
                               "callback_max_attempts": 1})
    source = Source(days=20, rate=30, seed=7)
    a, b = run_compare(patient, strict, source)
    assert b.total_escalations > a.total_escalations
    deadline = [sum(n for (cause, _), n in s.escalations.items() if cause == "deadline_missed")
                for s in (a, b)]
    assert deadline[1] > deadline[0]
    assert b.events_by_type["complaint.assigned"] > a.events_by_type["complaint.assigned"]
    assert a.submitted == b.submitted
    lines = comparison_lines(a, b, "patient", "strict")
    assert lines[-1].startswith("all")
    assert str(a.total_escalations) in lines[-1].replace(",", "")


def test_the_plot_is_written(tmp_path):
    a = run_one(Settings(), Source(days=2, rate=20, seed=3))
    b = run_one(Settings(transfer_cap=0), Source(days=2, rate=20, seed=3))
    path = plot_comparison(a, b, "a", "b", tmp_path / "out" / "compare.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cli_runs_a_backtest_and_a_comparison(tmp_path):
    (tmp_path / "a.json").write_text('{"name": "default"}')
    (tmp_path / "b.json").write_text('{"transfer_cap": 0, "callback_max_attempts": 1, '
                                     '"unreachable_rule": "return_to_officer"}')
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "backtest", "--days", "4", "--rate", "30",
         "--progress-days", "1"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, done.stderr
    assert "simulated:" in done.stdout and "SLA compliance" in done.stdout
    assert "inputs/s" in done.stdout
    out = tmp_path / "compare.png"
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "backtest", "--days", "4", "--rate", "30",
         "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "escalations" in done.stdout and f"wrote {out}" in done.stdout
    assert out.exists()
    (tmp_path / "bad.json").write_text('{"time_limit_days": 5}')
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "backtest", "--compare",
         str(tmp_path / "a.json"), str(tmp_path / "bad.json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no time limit per level" in done.stderr


def test_a_recorded_stream_is_read_from_json_lines(tmp_path):
    events = traffic(TrafficProfile(seed=5, days=5, complaints_per_day=20))
    path = tmp_path / "stream.jsonl"
    path.write_bytes(b"\n".join(e.to_json() for e in events) + b"\n{not json}\n")
    from_file = Backtest().run(recorded(path))
    from_objects = Backtest().run(events)
    assert set(from_file.events) == set(from_objects.events)
    assert [d.reason[:20] for d in from_file.dead_letters] == ["not valid UTF-8 JSON"]
