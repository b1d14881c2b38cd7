"""The complaint state machine: scenarios from docs/domain.md and docs/lifecycle.md, and
property tests of its invariants."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import WorkingCalendar
from core.escalation import (
    Target,
    escalation_target,
    lapse_id,
    lapse_recorded,
    transfer_cap_level,
)
from core.lifecycle import (
    CLOSED,
    REFUSALS_REMEMBERED,
    ComplaintState,
    Context,
    Decision,
    decide,
    next_wakeup,
    snapshot,
)
from core.pending import Held, expiry, receive
from core.policy import LifecyclePolicy
from core.reference import (
    CATEGORIES,
    DEPARTMENTS,
    OfficerDirectory,
    build_officer_directory,
    find_block,
)
from core.routing import route_new
from schemas.events import (
    CallbackRequested,
    CitizenFeedback,
    ClockTick,
    CommandRejected,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintReopened,
    LapseRecorded,
    OfficerActed,
    OverdueAtState,
    SlaWarning,
    SpecialCloseRequested,
    VerificationResult,
)

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST
DIRECTORY = OfficerDirectory(build_officer_directory())
CTX = Context(directory=DIRECTORY)
FIELD_DEPARTMENTS = {d.code for d in DEPARTMENTS if 1 in d.levels}
CATEGORY = next(c for c in CATEGORIES if c.department_code in FIELD_DEPARTMENTS)
OTHER_FIELD_DEPARTMENT = sorted(FIELD_DEPARTMENTS - {CATEGORY.department_code})[0]
PLACE = find_block("Shimla", "Theog")


class Run:
    """Feed commands through the core the way the agent does, keeping all outputs."""

    def __init__(self, ctx: Context = CTX) -> None:
        self.ctx = ctx
        self.state: ComplaintState | None = None
        self.events: list = []
        self.n = 0

    def send(self, command) -> Decision:
        decision = decide(self.state, command, self.ctx)
        self.state = decision.state
        self.events.extend(decision.events)
        return decision

    def _id(self) -> str:
        self.n += 1
        return f"cmd-{self.n}"

    def register(self, at: datetime = T0, category: str = CATEGORY.code):
        return self.send(ComplaintRegistered(
            event_id=self._id(), complaint_id="HP-1", occurred_at=at, channel="phone_1100",
            category=category, district=PLACE.district, block=PLACE.name,
            text="पानी नहीं आ रहा", citizen_ref="ref-1"))

    def act(self, action: str, at: datetime, officer: str | None = None, **extra):
        assert self.state is not None
        return self.send(OfficerActed(
            event_id=self._id(), complaint_id="HP-1", occurred_at=at,
            officer_id=officer or self.state.officer_id, action=action, **extra))

    def feedback(self, outcome: str, at: datetime):
        return self.send(CitizenFeedback(event_id=self._id(), complaint_id="HP-1",
                                         occurred_at=at, outcome=outcome))

    def verify(self, outcome: str, at: datetime):
        return self.send(VerificationResult(event_id=self._id(), complaint_id="HP-1",
                                            occurred_at=at, verifier="chief_minister",
                                            outcome=outcome))

    def tick(self, at: datetime):
        return self.send(ClockTick(event_id=self._id(), complaint_id="HP-1", occurred_at=at))

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


# --- given / when / then: the lifecycle specs read as scenarios -------------------------


def given_registered(ctx: Context = CTX) -> Run:
    """A complaint just registered at T0 (a Monday, 10:00 IST) with its first-level officer."""
    run = Run(ctx)
    run.register()
    return run


def given_at_level(level: int, ctx: Context = CTX) -> Run:
    """A complaint that reached `level` by letting every deadline below it lapse."""
    run = given_registered(ctx)
    while run.state.level < level:
        when_deadline_passes(run)
    assert run.state.level == level
    return run


def when_deadline_passes(run: Run) -> Decision:
    """The clock reaches the current time limit (the warnings before it fire first)."""
    run.tick(run.state.due_at - timedelta(seconds=1))
    return run.tick(run.state.due_at)


def when_reminded(run: Run) -> Decision:
    """Overdue at the state level: the clock reaches the next reminder."""
    assert run.state.overdue_at_state
    return run.tick(run.state.next_reminder_at)


def then_events(decision: Decision, *kinds: type) -> tuple:
    """The decision emitted exactly these kinds of events, in this order."""
    assert [type(e) for e in decision.events] == list(kinds)
    return decision.events


def test_registration_routes_to_the_first_level_officer_with_a_working_day_deadline():
    run = Run()
    run.register()
    state = run.state
    assert state.status == "assigned" and state.level == 1
    assert state.department == CATEGORY.department_code
    assert (state.district, state.tehsil, state.block) == (PLACE.district, PLACE.tehsil,
                                                           PLACE.name)
    assert state.officer_id == DIRECTORY.responsible(state.department, 1, PLACE).officer_id
    assert state.due_at == CTX.calendar.add_working_days(T0, CATEGORY.sla_working_days)
    [assigned] = run.of(ComplaintAssigned)
    assert assigned.cause == "routed" and assigned.due_at == state.due_at


def test_lapses_climb_block_tehsil_district_state_then_keep_reminding():
    run = given_registered()
    officers = [run.state.officer_id]
    for level in (2, 3, 4):
        due = run.state.due_at
        run.tick(due - timedelta(seconds=1))  # not yet
        assert run.state.level == level - 1
        then_events(run.tick(due), LapseRecorded, ComplaintEscalated)
        assert run.state.level == level
        officers.append(run.state.officer_id)
    escalations = run.of(ComplaintEscalated)
    assert [(e.from_level, e.to_level, e.cause) for e in escalations] == [
        (1, 2, "deadline_missed"), (2, 3, "deadline_missed"), (3, 4, "deadline_missed")]
    assert [e.lapsed_by for e in escalations] == officers[:3]
    assert [e.to_officer for e in escalations] == officers[1:]
    assert len(set(officers)) == 4
    # Level 4 lapses: overdue at state, reminded once a day, never dropped.
    due = run.state.due_at
    run.tick(due)
    run.tick(due)  # a repeated tick changes nothing
    run.tick(due + timedelta(days=1))
    run.tick(due + timedelta(days=2, hours=1))
    reminders = run.of(OverdueAtState)
    assert [r.reminder for r in reminders] == [1, 2, 3]
    assert run.state.overdue_at_state and run.state.is_open
    # each reminder at its own hour, whenever the tick ran
    assert next_wakeup(run.state, CTX.policy) == due + timedelta(days=3)


def test_sla_warnings_at_half_and_three_quarters():
    run = Run()
    run.register()
    span = run.state.due_at - T0
    run.tick(T0 + span * 0.5)
    run.tick(T0 + span * 0.6)
    run.tick(T0 + span * 0.8)
    assert [w.fraction for w in run.of(SlaWarning)] == [0.5, 0.75]


def test_satisfied_citizen_closes_and_not_satisfied_escalates():
    run = Run()
    run.register()
    at = T0 + timedelta(hours=5)
    run.act("resolution_proposed", at)
    assert run.state.status == "resolution_proposed"
    [callback] = run.of(CallbackRequested)
    assert CTX.calendar.within_calling_hours(callback.not_before)
    run.feedback("not_satisfied", at + timedelta(hours=1))
    assert run.state.level == 2 and run.state.status == "assigned"
    assert run.of(ComplaintEscalated)[-1].cause == "citizen_not_satisfied"
    run.act("resolution_proposed", at + timedelta(hours=2))
    run.feedback("satisfied", at + timedelta(hours=3))
    assert run.state.status == "closed" and run.state.close_reason == "citizen_satisfied"
    assert run.of(ComplaintClosed)[-1].reason == "citizen_satisfied"


def test_failed_verification_reopens_one_level_up():
    run = Run()
    run.register()
    at = T0 + timedelta(hours=1)
    run.act("resolution_proposed", at)
    run.feedback("satisfied", at)
    run.verify("failed", at + timedelta(days=1))
    assert run.state.status == "assigned" and run.state.reopenings == 1
    assert run.state.level == 2
    assert run.of(ComplaintReopened)[-1].cause == "verification_failed"
    assert run.of(ComplaintEscalated)[-1].cause == "verification_failed"


def test_transfer_reroutes_and_the_cap_sends_it_to_the_district():
    ctx = Context(directory=DIRECTORY, policy=LifecyclePolicy(transfer_cap=1))
    run = Run(ctx)
    run.register()
    at = T0 + timedelta(hours=2)
    run.act("transfer_requested", at, reason="wrong department",
            target_department=OTHER_FIELD_DEPARTMENT)
    assert run.state.department == OTHER_FIELD_DEPARTMENT and run.state.transfers == 1
    assert run.of(ComplaintAssigned)[-1].cause == "transferred"
    run.act("transfer_requested", at, reason="again", target_department=CATEGORY.department_code)
    assert run.state.level == 3
    assert run.of(ComplaintEscalated)[-1].cause == "transfer_cap"
    assert not run.of(LapseRecorded)  # moved up, but nobody let a time limit run out


def test_special_close_needs_the_officer_one_level_up():
    run = Run()
    run.register()
    at = T0 + timedelta(hours=2)
    run.act("special_close_proposed", at, reason="policy matter: needs a new scheme")
    [request] = run.of(SpecialCloseRequested)
    assert request.approver_level == 2
    run.act("special_close_approved", at, officer=run.state.officer_id)  # not the approver
    assert run.of(CommandRejected)[-1].reason.startswith("only the officer one level up")
    run.act("special_close_approved", at, officer=request.approver_id)
    assert run.state.status == "special_closed"
    closed = run.of(ComplaintClosed)[-1]
    assert closed.reason == "special_close" and closed.approved_by == request.approver_id


def test_nobody_else_can_act_and_force_close_is_impossible():
    run = Run()
    run.register()
    run.act("resolution_proposed", T0, officer="OFF-SOMEONE-ELSE")
    assert run.state.status == "assigned"
    assert "responsible officer" in run.of(CommandRejected)[-1].reason
    run.feedback("satisfied", T0)  # no resolution proposed yet
    assert run.state.status == "assigned"


def test_an_officer_acting_after_the_lapse_finds_the_complaint_moved_on():
    run = given_registered()
    first_officer, due = run.state.officer_id, run.state.due_at
    run.act("resolution_proposed", due + timedelta(hours=1), officer=first_officer)
    assert run.state.level == 2  # the lapse happened first, however late the timer was
    assert run.of(ComplaintEscalated)[-1].lapsed_by == first_officer
    assert run.of(CommandRejected)


def test_unreachable_citizen_is_called_again_then_waited_for():
    run = Run()
    run.register()
    run.act("resolution_proposed", T0)
    for i in range(3):
        run.feedback("unreachable", T0 + timedelta(hours=i))
    assert [c.attempt for c in run.of(CallbackRequested)] == [1, 2, 3]
    assert run.state.status == "awaiting_citizen"
    assert next_wakeup(run.state, CTX.policy) is None  # SLA paused while waiting
    run.feedback("satisfied", T0 + timedelta(days=2))
    assert run.state.status == "closed"


def test_redelivered_command_changes_nothing():
    run = Run()
    run.register()
    command = OfficerActed(event_id="same", complaint_id="HP-1", occurred_at=T0,
                           officer_id=run.state.officer_id, action="resolution_proposed")
    first = run.send(command)
    second = run.send(command)
    assert first.events and second.events == ()
    assert second.state == first.state


# --- properties -------------------------------------------------------------------------

ACTIONS = ["acknowledged", "interim_reply", "resolution_proposed", "transfer_requested",
           "special_close_proposed", "special_close_approved", "special_close_rejected"]

step = st.one_of(
    st.tuples(st.just("tick"), st.integers(0, 30 * 24)),
    st.tuples(st.just("act"), st.sampled_from(ACTIONS), st.booleans(), st.integers(0, 48)),
    st.tuples(st.just("feedback"), st.sampled_from(["satisfied", "not_satisfied",
                                                    "unreachable"]), st.integers(0, 48)),
    st.tuples(st.just("verify"), st.sampled_from(["confirmed", "failed"]), st.integers(0, 48)),
)


def build_commands(steps) -> list:
    """Turn drawn steps into a command list with non-decreasing time, against a shadow run
    (so officer ids are plausible: the responsible one, the approver, or a stranger)."""
    shadow = Run()
    shadow.register()
    commands = []
    now = T0
    for i, s in enumerate(steps):
        now = now + timedelta(hours=s[-1])
        eid = f"p-{i}"
        if s[0] == "tick":
            cmd = ClockTick(event_id=eid, complaint_id="HP-1", occurred_at=now)
        elif s[0] == "act":
            state = shadow.state
            approver = state.special_close_approver
            officer = (approver if s[1].startswith("special_close_") and approver and s[2]
                       else state.officer_id if s[2] else "OFF-STRANGER")
            extra = {}
            if s[1] in ("transfer_requested", "special_close_proposed"):
                extra["reason"] = "because"
            if s[1] == "transfer_requested":
                extra["target_department"] = OTHER_FIELD_DEPARTMENT
            cmd = OfficerActed(event_id=eid, complaint_id="HP-1", occurred_at=now,
                               officer_id=officer, action=s[1], **extra)
        elif s[0] == "feedback":
            cmd = CitizenFeedback(event_id=eid, complaint_id="HP-1", occurred_at=now,
                                  outcome=s[1])
        else:
            cmd = VerificationResult(event_id=eid, complaint_id="HP-1", occurred_at=now,
                                     verifier="minister", outcome=s[1])
        shadow.send(cmd)
        commands.append(cmd)
    return commands


def fold(commands, start: Run | None = None) -> Run:
    run = start or Run()
    if start is None:
        run.register()
    for cmd in commands:
        run.send(cmd)
    return run


@settings(max_examples=150)
@given(st.lists(step, max_size=25))
def test_invariants_hold_for_any_sequence(steps):
    commands = build_commands(steps)
    run = Run()
    run.register()
    level = run.state.level
    for cmd in commands:
        before = run.state
        decision = run.send(cmd)
        state = decision.state
        # level never goes down
        assert state.level >= level
        level = state.level
        # closed only after a satisfied citizen
        if state.status == "closed" and before.status != "closed":
            assert isinstance(cmd, CitizenFeedback) and cmd.outcome == "satisfied"
        if state.status == "closed":
            assert state.satisfied_event_id is not None
        # every open complaint has exactly one responsible officer and one due time
        if state.is_open:
            assert state.officer_id and state.due_at is not None
        # a late tick may climb several levels, but one at a time, each from where the
        # previous one arrived
        escalations = [e for e in decision.events if isinstance(e, ComplaintEscalated)]
        for a, b in itertools.pairwise(escalations):
            assert b.from_level == a.to_level and b.occurred_at >= a.occurred_at
        # a refused command leaves the complaint exactly as the catch-up left it, only
        # remembering the refusal
        if decision.events and all(isinstance(e, CommandRejected) for e in decision.events):
            assert replace(state, refused=before.refused) == before
            assert cmd.event_id in {eid for eid, _ in state.refused}
    lapses = [(e.from_level, e.previous_due_at) for e in run.of(ComplaintEscalated)
              if e.cause == "deadline_missed"]
    assert len(lapses) == len(set(lapses))


@settings(max_examples=100)
@given(st.lists(step, max_size=20), st.data())
def test_replaying_any_prefix_twice_gives_the_same_state(steps, data):
    commands = build_commands(steps)
    cut = data.draw(st.integers(0, len(commands)))
    once = fold(commands[:cut])
    twice = fold(commands[:cut], start=fold(commands[:cut]))
    # Ticks are not remembered by id (they are idempotent by state), and a repeated tick at
    # an earlier time than the state's clock changes nothing either.
    assert twice.state == once.state


@settings(max_examples=150)
@given(st.lists(step, max_size=20), st.lists(st.floats(0, 1), max_size=20))
def test_the_state_does_not_depend_on_when_the_timer_ran(steps, tick_points):
    """Extra ticks anywhere between the commands (a timer running early, late, twice) lead
    to the same final state and the same events as the commands alone."""
    commands = build_commands(steps)
    end = (commands[-1].occurred_at if commands else T0) + timedelta(days=40)
    plain = fold([*commands, ClockTick(event_id="end", complaint_id="HP-1", occurred_at=end)])
    spread = end - T0
    extra = [ClockTick(event_id=f"x-{i}", complaint_id="HP-1", occurred_at=T0 + spread * f)
             for i, f in enumerate(tick_points)]
    # each extra tick goes in right after the last command it does not precede in time
    merged = sorted([*((c.occurred_at, 0, i, c) for i, c in enumerate(commands)),
                     *((t.occurred_at, 1, i, t) for i, t in enumerate(extra))],
                    key=lambda item: (item[0], item[1], item[2]))
    ticked = fold([c for *_, c in merged]
                  + [ClockTick(event_id="end", complaint_id="HP-1", occurred_at=end)])
    # the commands keep their order among the ticks (their times never decrease)
    assert [c for _, kind, _, c in merged if kind == 0] == commands
    assert ticked.state == plain.state
    assert {e.event_id: e for e in ticked.events} == {e.event_id: e for e in plain.events}


def test_a_refused_command_leaves_no_visible_trace():
    run = Run()
    run.register()
    before = run.state
    decision = run.act("resolution_proposed", T0 + timedelta(hours=1), officer="OFF-STRANGER")
    assert [type(e) for e in decision.events] == [CommandRejected]
    assert snapshot(run.state) == snapshot(before)
    # no version, no applied id, no updated_at: only its id is remembered
    assert replace(run.state, refused=()) == before
    assert [eid for eid, _ in run.state.refused] == [decision.events[0].rejected_event_id]


def test_a_refused_command_sent_again_later_is_refused_again():
    """Feedback while the complaint is not awaiting it is refused; the very same message
    arriving again once the complaint awaits feedback must not close it (a replay would
    otherwise give another complaint than the first pass)."""
    run = Run()
    run.register()
    early = CitizenFeedback(event_id="fb-early", complaint_id="HP-1",
                            occurred_at=T0 + timedelta(hours=1), outcome="satisfied")
    first = run.send(early)
    assert [type(e) for e in first.events] == [CommandRejected]
    run.act("resolution_proposed", T0 + timedelta(hours=2))
    awaiting = run.state
    again = run.send(replace(early, occurred_at=T0 + timedelta(hours=3)))
    assert [e.event_id for e in again.events] == [first.events[0].event_id]
    assert again.events[0].reason == first.events[0].reason
    assert run.state == awaiting
    # a new message from the citizen is judged on its own
    run.feedback("satisfied", T0 + timedelta(hours=4))
    assert run.state.status in CLOSED


def test_only_the_latest_refusals_are_remembered():
    run = Run()
    run.register()
    for i in range(REFUSALS_REMEMBERED + 10):
        run.send(CitizenFeedback(event_id=f"bad-{i}", complaint_id="HP-1",
                                 occurred_at=T0 + timedelta(minutes=i), outcome="satisfied"))
    assert len(run.state.refused) == REFUSALS_REMEMBERED
    assert run.state.refused[-1][0] == f"bad-{REFUSALS_REMEMBERED + 9}"
    assert run.state.version == 1


def test_state_survives_its_storage_form():
    run = Run()
    run.register()
    run.act("resolution_proposed", T0)
    assert ComplaintState.from_dict(run.state.to_dict()) == run.state


@pytest.mark.parametrize("category", [c.code for c in CATEGORIES])
def test_every_category_routes_to_an_officer(category):
    run = Run()
    run.register(category=category)
    assert run.state is not None and run.state.status == "assigned"


# --- the escalation policy (core/escalation.py) -------------------------------------------


def _officer(level: int) -> str:
    return DIRECTORY.responsible(CATEGORY.department_code, level, PLACE).officer_id


def _held_at(level: int) -> ComplaintState:
    """The registered complaint as if it lay at `level` with that level's officer."""
    return replace(given_registered().state, level=level, officer_id=_officer(level))


@pytest.mark.parametrize(("cause", "level", "move", "to_level"), [
    # a missed deadline: one level up; at the top, overdue at state (reminded)
    ("deadline_missed", 1, "up", 2),
    ("deadline_missed", 2, "up", 3),
    ("deadline_missed", 3, "up", 4),
    ("deadline_missed", 4, "reminded", 4),
    # the citizen, or a verification call, not satisfied: one level up; at the top,
    # back to the state officer with a fresh limit
    ("citizen_not_satisfied", 1, "up", 2),
    ("citizen_not_satisfied", 2, "up", 3),
    ("citizen_not_satisfied", 3, "up", 4),
    ("citizen_not_satisfied", 4, "returned", 4),
    ("verification_failed", 1, "up", 2),
    ("verification_failed", 2, "up", 3),
    ("verification_failed", 3, "up", 4),
    ("verification_failed", 4, "returned", 4),
    # too many transfers: straight to the district level, never down
    ("transfer_cap", 1, "up", 3),
    ("transfer_cap", 2, "up", 3),
    ("transfer_cap", 3, "returned", 3),
    ("transfer_cap", 4, "returned", 4),
])
def test_escalation_target_for_every_cause_and_level(cause, level, move, to_level):
    target = escalation_target(_held_at(level), cause, DIRECTORY)
    assert target == Target(move, to_level, _officer(to_level))


def test_the_transfer_cap_sends_every_department_to_its_district_level():
    assert {transfer_cap_level(d.code) for d in DEPARTMENTS} == {3}


def test_a_dissatisfied_citizen_at_the_state_level_returns_it_with_a_fresh_limit():
    run = given_at_level(4)
    officer = run.state.officer_id
    at = run.state.assigned_at + timedelta(hours=1)
    run.act("resolution_proposed", at)
    [assigned] = then_events(run.feedback("not_satisfied", at + timedelta(hours=1)),
                             ComplaintAssigned)
    assert (assigned.cause, assigned.level, assigned.officer_id) == ("returned", 4, officer)
    assert run.state.due_at == CTX.calendar.add_working_days(
        at + timedelta(hours=1), CATEGORY.sla_working_days)
    # the three lapses that brought it here, and none for the citizen's dissatisfaction
    assert [e.kind for e in run.of(LapseRecorded)] == ["deadline_missed"] * 3


# --- lapses on record (LapseRecorded) -----------------------------------------------------


def test_a_missed_deadline_at_levels_1_to_3_records_one_lapse_of_the_officer_who_held_it():
    run = given_registered()
    ids = set()
    for level in (1, 2, 3):
        held = run.state
        lapse, escalated = then_events(when_deadline_passes(run), LapseRecorded,
                                       ComplaintEscalated)
        assert (lapse.kind, lapse.level, lapse.officer_id) == (
            "deadline_missed", level, held.officer_id)
        assert lapse.officer_id == escalated.lapsed_by == escalated.from_officer
        assert (lapse.department, lapse.district) == (held.department, held.district)
        # recorded at its own moment: the due time, not when the timer happened to run
        assert (lapse.assigned_at, lapse.due_at, lapse.occurred_at) == (
            held.assigned_at, held.due_at, held.due_at)
        assert lapse.overdue_seconds == 0 and lapse.reminder == 0
        assert lapse.limit_working_days == lapse.held_working_days == CATEGORY.sla_working_days
        assert lapse.lapse_id == lapse_id(held)
        ids.add(lapse.lapse_id)
    assert len(ids) == 3


def test_a_lapse_decided_again_gives_the_same_record():
    """A redelivered tick, a late timer or a replay: the same lapse, the same event id."""
    run = given_registered()
    before = run.state
    [first] = [e for e in when_deadline_passes(run).events if isinstance(e, LapseRecorded)]
    late = decide(before, ClockTick(event_id="late", complaint_id="HP-1",
                                    occurred_at=before.due_at + timedelta(hours=7)), CTX)
    assert [e for e in late.events if isinstance(e, LapseRecorded)] == [first]


def test_overdue_at_state_records_the_same_lapse_with_every_reminder_further_past_due():
    run = given_at_level(4)
    held = run.state
    # Level 4 got it on Thursday 26 March 10:00 IST: seven working days (Sunday off)
    # run out on Friday 3 April 10:00 IST.
    assert held.due_at == datetime(2026, 4, 3, 4, 30, tzinfo=UTC)
    records = [then_events(when_deadline_passes(run), LapseRecorded, OverdueAtState)]
    records += [then_events(when_reminded(run), LapseRecorded, OverdueAtState)
                for _ in range(3)]
    lapses = [lapse for lapse, _ in records]
    for lapse, reminder in records:
        assert (lapse.reminder, lapse.occurred_at) == (reminder.reminder, reminder.occurred_at)
        assert (lapse.kind, lapse.level, lapse.officer_id) == (
            "overdue_at_state", 4, held.officer_id)
        assert (lapse.assigned_at, lapse.due_at) == (held.assigned_at, held.due_at)
    # one lapse (one row in the ledger), one event per reminder
    assert {lapse.lapse_id for lapse in lapses} == {lapse_id(held)}
    assert len({lapse.event_id for lapse in lapses}) == 4
    assert [lapse.reminder for lapse in lapses] == [1, 2, 3, 4]
    # reminders on Fri, Sat, Sun and Mon: past due by whole days, but Sunday is no
    # working day the officer held it
    assert [lapse.overdue_seconds for lapse in lapses] == [0, 86400, 2 * 86400, 3 * 86400]
    assert [lapse.held_working_days for lapse in lapses] == [7, 8, 8, 9]
    assert {lapse.limit_working_days for lapse in lapses} == {7}


def test_held_and_limit_working_days_skip_a_holiday_in_the_span():
    holiday = date(2026, 3, 4)  # a Wednesday inside the first time limit
    run = given_registered(Context(directory=DIRECTORY,
                                   calendar=WorkingCalendar.with_holidays([holiday])))
    lapse, _ = then_events(when_deadline_passes(run), LapseRecorded, ComplaintEscalated)
    # Monday 2 March 10:00 IST + 7 working days, the holiday and Sunday 8 March not counted
    assert lapse.due_at == datetime(2026, 3, 11, 4, 30, tzinfo=UTC)
    assert lapse.due_at - lapse.assigned_at == timedelta(days=9)
    assert lapse.limit_working_days == lapse.held_working_days == 7
    # the same span on a calendar without the holiday holds one working day more
    assert CTX.calendar.working_days_between(lapse.assigned_at, lapse.due_at) == 8


def test_a_lapse_record_says_what_the_state_says_at_any_moment():
    """lapse_recorded straight from a state: the figures as of the moment given."""
    state = given_at_level(4).state
    later = state.due_at + timedelta(days=2, hours=3)
    record = lapse_recorded(state, "overdue_at_state", later, CTX, reminder=3)
    assert record.overdue_seconds == int((later - state.due_at).total_seconds())
    assert record.held_working_days == CTX.calendar.working_days_between(
        state.assigned_at, later)
    assert record.lapse_id == lapse_id(state)
    assert record.event_id != lapse_recorded(state, "overdue_at_state", later, CTX,
                                             reminder=4).event_id


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                    timezones=st.just(UTC)),
       st.integers(0, 40),
       st.sets(st.dates(date(2026, 1, 1), date(2027, 4, 1)), max_size=40))
def test_working_days_between_counts_what_add_working_days_adds(start, days, holidays):
    calendar = WorkingCalendar.with_holidays(holidays)
    due = calendar.add_working_days(start, days)
    assert calendar.working_days_between(start, due) == days
    if days:
        assert calendar.working_days_between(start, due - timedelta(microseconds=1)) == days - 1


@settings(max_examples=150)
@given(st.lists(step, max_size=25))
def test_every_lapse_is_recorded_once_for_the_officer_who_held_it(steps):
    run = given_registered()
    for cmd in build_commands(steps):
        decision = run.send(cmd)
        lapses = [e for e in decision.events if isinstance(e, LapseRecorded)]
        missed = [e for e in decision.events
                  if isinstance(e, ComplaintEscalated) and e.cause == "deadline_missed"]
        reminders = [e for e in decision.events if isinstance(e, OverdueAtState)]
        # each deadline escalation has exactly one lapse, of the officer it was taken from
        assert [(e.officer_id, e.level, e.due_at, e.occurred_at) for e in lapses
                if e.kind == "deadline_missed"] == [
            (e.from_officer, e.from_level, e.previous_due_at, e.occurred_at) for e in missed]
        # and each state-level reminder one record of the lapse it reminds of
        assert [(e.officer_id, e.reminder, e.occurred_at) for e in lapses
                if e.kind == "overdue_at_state"] == [
            (e.officer_id, e.reminder, e.occurred_at) for e in reminders]
        for e in lapses:
            assert e.overdue_seconds == int((e.occurred_at - e.due_at).total_seconds())
            assert e.held_working_days >= e.limit_working_days
    recorded = run.of(LapseRecorded)
    assert len({e.event_id for e in recorded}) == len(recorded)
    # the records of one lapse agree on whose it is, and grow further past due
    by_lapse: dict[str, list[LapseRecorded]] = {}
    for e in recorded:
        by_lapse.setdefault(e.lapse_id, []).append(e)
    for records in by_lapse.values():
        assert len({(e.officer_id, e.level, e.assigned_at, e.due_at) for e in records}) == 1
        assert len(records) == 1 or all(e.kind == "overdue_at_state" for e in records)
        overdue = [e.overdue_seconds for e in records]
        assert overdue == sorted(overdue) and len(set(overdue)) == len(overdue)


@settings(max_examples=300)
@given(st.lists(st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False)),
                min_size=1, max_size=5))
def test_derived_ids_are_uuid5_of_their_parts(parts):
    """The fast derivation is exactly uuid5 in the project's namespace (ids already
    published must not change)."""
    import uuid

    from core.state import _ID_NAMESPACE, derived_id

    assert derived_id(*parts) == str(uuid.uuid5(_ID_NAMESPACE, "/".join(map(str, parts))))


def test_evolve_is_replace_for_the_complaint():
    from core.state import evolve

    run = Run()
    run.register()
    state = run.state
    changed = evolve(state, status="resolution_proposed", callback_attempts=1)
    assert changed == replace(state, status="resolution_proposed", callback_attempts=1)
    assert state.status == "assigned"  # the original is untouched
    assert hash(changed) == hash(replace(state, status="resolution_proposed",
                                         callback_attempts=1))
    with pytest.raises(TypeError, match="no field"):
        evolve(state, statuss="closed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.status = "closed"  # type: ignore[misc]


# --- a version grows only with a visible change ----------------------------------------


def _visible(state: ComplaintState | None) -> dict | None:
    """What a reader of complaints.state.v1 sees, but for the version and its moment."""
    if state is None:
        return None
    shown = snapshot(state).to_dict()
    for bookkeeping in ("event_id", "occurred_at", "version"):
        shown.pop(bookkeeping)
    return shown


def test_a_second_satisfied_on_a_closed_complaint_is_absorbed_without_a_trace():
    run = given_registered()
    run.act("resolution_proposed", T0 + timedelta(hours=1))
    run.feedback("satisfied", T0 + timedelta(hours=2))
    closed = run.state
    assert closed.status == "closed"
    again = run.feedback("satisfied", T0 + timedelta(hours=3))
    assert again.events == ()  # neither an event nor a refusal: a repeat, absorbed
    assert (run.state.version, run.state.updated_at) == (closed.version, closed.updated_at)
    assert snapshot(run.state) == snapshot(closed)
    # remembered, so its redelivery is a repeat too
    assert run.state.applied[-1] == again.state.applied[-1] != closed.applied[-1]
    confirmed = run.verify("confirmed", T0 + timedelta(hours=4))
    assert confirmed.events == () and snapshot(run.state) == snapshot(closed)


@settings(max_examples=200)
@given(st.lists(step, max_size=30))
def test_the_version_and_its_time_move_only_with_a_visible_change(steps):
    """For any command (ticks included) after any history: if a reader of the state sees
    nothing new, neither its version nor its updated_at moved; if they see a change, the
    version grew."""
    commands = build_commands(steps)
    run = Run()
    run.register()
    for cmd in commands:
        before = run.state
        after = run.send(cmd).state
        if _visible(after) == _visible(before):
            assert (after.version, after.updated_at) == (before.version, before.updated_at)
        else:
            assert after.version > before.version


# --- commands that overtake their registration (core/pending.py) -----------------------

HOLD_FOR = timedelta(days=365)  # longer than any drawn history: nothing expires


def registration(at: datetime = T0) -> ComplaintRegistered:
    return ComplaintRegistered(
        event_id="reg", complaint_id="HP-1", occurred_at=at, channel="phone_1100",
        category=CATEGORY.code, district=PLACE.district, block=PLACE.name,
        text="पानी नहीं आ रहा", citizen_ref="ref-1")


def through_holding(commands) -> tuple[ComplaintState | None, list, tuple]:
    """Fold commands as the lifecycle agent does, holding what comes before registration."""
    state, held, events = None, (), []
    for n, command in enumerate(commands):
        out = receive(state, held, Held(command, offset=n), CTX, max_age=HOLD_FOR)
        state, held = out.decision.state, out.held
        events.extend(out.decision.events)
    return state, events, held


@settings(max_examples=150)
@given(st.lists(step, max_size=20), st.data())
def test_any_interleaving_of_a_registration_and_its_commands_is_the_ordered_stream(
        steps, data):
    """However far the commands overtake their registration, the complaint ends as if the
    registration had come first: same state, same events (ids and payloads)."""
    commands = build_commands(steps)
    end = (commands[-1].occurred_at if commands else T0) + timedelta(days=40)
    final = ClockTick(event_id="end", complaint_id="HP-1", occurred_at=end)
    ordered = fold([registration(), *commands, final], start=Run())
    at = data.draw(st.integers(0, len(commands)))
    state, events, held = through_holding([*commands[:at], registration(), *commands[at:],
                                           final])
    assert held == ()
    assert state == ordered.state
    assert {e.event_id: e for e in events} == {e.event_id: e for e in ordered.events}


def test_a_held_command_is_applied_as_of_its_own_time_after_the_registration():
    """The officer proposed a resolution on day 3; the registration (day 0) came after it:
    the complaint never lapses, its proposal is dated day 3, nothing fired ahead of it."""
    act_at = T0 + timedelta(days=3)
    officer = route_new(DIRECTORY, CATEGORY.code, PLACE.district, PLACE.name).officer_id
    acted = OfficerActed(event_id="act", complaint_id="HP-1", occurred_at=act_at,
                         officer_id=officer, action="resolution_proposed")
    state, events, held = through_holding([acted, registration()])
    assert held == () and state.status == "resolution_proposed"
    assert state.updated_at == act_at and state.level == 1
    assert [type(e) for e in events if isinstance(e, (SlaWarning, ComplaintEscalated))] \
        == [type(e) for e in fold([registration(), acted], start=Run()).events
            if isinstance(e, (SlaWarning, ComplaintEscalated))]


def test_a_held_command_expires_into_the_refusal_it_would_have_had():
    fb = CitizenFeedback(event_id="fb", complaint_id="HP-1", occurred_at=T0,
                         outcome="satisfied")
    kept = receive(None, (), Held(fb, offset=4), CTX, max_age=timedelta(hours=1))
    assert kept.decision == Decision(None) and kept.held == (Held(fb, offset=4),)
    assert expiry(kept.held, timedelta(hours=1)) == T0 + timedelta(hours=1)
    early = receive(None, kept.held, Held(ClockTick(event_id="t1", complaint_id="HP-1",
                                                    occurred_at=T0 + timedelta(minutes=59))),
                    CTX, max_age=timedelta(hours=1))
    assert early.held == kept.held and early.decision.events == ()
    late = receive(None, kept.held, Held(ClockTick(event_id="t2", complaint_id="HP-1",
                                                   occurred_at=T0 + timedelta(hours=1))),
                   CTX, max_age=timedelta(hours=1))
    assert late.held == () and late.refused_held == (Held(fb, offset=4),)
    [refusal] = late.decision.events
    assert isinstance(refusal, CommandRejected) and refusal.rejected_event_id == "fb"
    assert refusal.reason.startswith("no such complaint is registered")
    # and a partition that holds all it may refuses at once
    full = receive(None, (), Held(fb), CTX, max_age=timedelta(hours=1), room=False)
    assert full.held == () and "SANKALP_HELD_COMMANDS_PER_PARTITION" in \
        full.decision.events[0].reason
