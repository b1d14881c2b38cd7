"""The complaint state machine: scenarios from DOMAIN.md and property tests of its invariants."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from core.policy import LifecyclePolicy
from core.reference import (
    CATEGORIES,
    DEPARTMENTS,
    OfficerDirectory,
    build_officer_directory,
    find_block,
)
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
    run = Run()
    run.register()
    officers = [run.state.officer_id]
    for level in (2, 3, 4):
        due = run.state.due_at
        run.tick(due - timedelta(seconds=1))  # not yet
        assert run.state.level == level - 1
        run.tick(due)
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
    run = Run()
    run.register()
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
    times = [c.occurred_at for c in commands] or [T0]
    spread = end - T0
    extra = [ClockTick(event_id=f"x-{i}", complaint_id="HP-1", occurred_at=T0 + spread * f)
             for i, f in enumerate(tick_points)]
    # each extra tick goes in right after the last command it does not precede in time
    merged = sorted([*((c.occurred_at, 0, i, c) for i, c in enumerate(commands)),
                     *((t.occurred_at, 1, i, t) for i, t in enumerate(extra))],
                    key=lambda item: (item[0], item[1], item[2]))
    ticked = fold([c for *_, c in merged]
                  + [ClockTick(event_id="end", complaint_id="HP-1", occurred_at=end)])
    assert times  # (commands keep their order: their times never decrease)
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
