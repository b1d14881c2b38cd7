"""`sankalp backtest`: an event stream through the pure core in one process, no broker.

The workers' decisions, without the workers: the same calendar, officer directory, policy
and intake rules (`Backtest.from_settings` builds them as `agents/worker.py` does), the
same functions called in the same order, so a stream replayed here yields the events, dead
letters and final states a worker in event time (`SANKALP_CLOCK=event`) yields on Kafka
(tests/integration/test_backtest_parity.py holds it to that).

    intake stage 1   validate (category, place) and pseudonymise (`core.intake.citizen_ref`)
    intake stage 2   `core.intake.decide_submission` with the caller's history: register
                     (ComplaintRegistered, id derived from the submission), link a duplicate
                     (DuplicateLinked) or dead-letter one over the caller limit
    lifecycle        `core.lifecycle.decide(state, command, ctx)`; a refusal is a dead letter
    deadline timer   each complaint's `next_wakeup` in a TimeIndex (core/time_index.py); a
                     ClockTick dated at the due moment itself, id derived as the worker's,
                     for every wake-up due before an input dated later (and up to `until`)

Time is event time: it moves with the inputs. A watermark (a ClockTick for `CLOCK`, as
`streams/producer.py` sends) or any other clock tick fires what fell due by its moment.

Two ways to go faster that change no figure (tests/unit/test_backtest.py): without kept
events, the repeated daily reminders of a complaint overdue at the state level are counted
instead of run (`fold_reminders`, see `_decide`); and a run may be split by caller into
shards in separate processes (`shard`, `run_sharded`). `load_policy`, `run_compare`,
`comparison_lines` and `plot_comparison` are the what-if: one stream, two policies.

Pure: no Kafka, no Postgres. The officer directory is the reference directory the
workers' LiveDirectory starts from (officer transfers published on the directory topic
are not replayed). docs/backtest.md says how to run it and how fast it is.
"""

from __future__ import annotations

import gc
import json
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.calendar import WorkingCalendar
from core.intake import (
    CallerHistory,
    IntakeRules,
    check_routable,
    citizen_ref,
    decide_submission,
    duplicate_link,
    limit_reason,
    registration,
)
from core.lifecycle import CLOSED, ComplaintState, Context, decide, derived_id, next_wakeup
from core.pending import Held, expiry, receive
from core.policy import LifecyclePolicy
from core.reference import OfficerDirectory, build_officer_directory
from core.routing import Directory, RoutingError
from core.time_index import TimeIndex
from core.timers import MAX_STEPS_PER_TICK
from schemas.events import (
    COMMANDS,
    ClockTick,
    CommandRejected,
    ComplaintEscalated,
    ComplaintSubmitted,
    Event,
    LapseRecorded,
    decode,
)
from schemas.records import InvalidEvent, payload_too_large
from streams.topics import COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN

if TYPE_CHECKING:
    from streams.settings import Settings

# The complaint id of a watermark (streams/producer.py `watermark`).
WATERMARK_ID = "CLOCK"
# Folded reminders caught up per decision, well within the core's MAX_STEPS_PER_TICK.
CATCH_UP_REMINDERS = min(500, MAX_STEPS_PER_TICK // 2)
DEFAULT_CITIZEN_REF_KEY = "change-me-in-production"  # the setting's default


@dataclass(frozen=True)
class DeadLetterNote:
    """What the worker would dead-letter: the input's topic (logical name), its complaint
    id and event id, and the reason (the same text the worker writes)."""

    topic: str
    complaint_id: str
    event_id: str
    reason: str


@dataclass
class Progress:
    """Where a run stands, handed to the progress callback."""

    simulated: datetime
    inputs: int
    complaints: int
    outputs: int
    seconds: float


class Backtest:
    """One pipeline in one process. Feed it inputs in time order (`run` or `feed`), then
    read `states`, `events` (with keep_events), `dead_letters` and `summary()`."""

    def __init__(self, *, policy: LifecyclePolicy | None = None,
                 calendar: WorkingCalendar | None = None, directory: Directory | None = None,
                 intake_rules: IntakeRules | None = None,
                 citizen_ref_key: str = DEFAULT_CITIZEN_REF_KEY,
                 keep_events: bool = True,
                 on_event: Callable[[Event], None] | None = None,
                 fold_reminders: bool | None = None,
                 shard: tuple[int, int] | None = None,
                 held_max_age: timedelta = timedelta(days=1)) -> None:
        self.context = Context(
            directory=directory or OfficerDirectory(build_officer_directory()),
            calendar=calendar or WorkingCalendar(),
            policy=policy or LifecyclePolicy(),
        )
        self.intake_rules = intake_rules or IntakeRules()
        self.citizen_ref_key = citizen_ref_key
        self.keep_events = keep_events
        self.on_event = on_event
        # Folding (default when no event is kept or handed on): see `_decide`.
        self.fold_reminders = (not keep_events and on_event is None
                               if fold_reminders is None else fold_reminders)
        if self.fold_reminders and (keep_events or on_event is not None):
            raise ValueError("folded reminders are counted, not sent: no keep_events or "
                             "on_event with fold_reminders")
        # (index, count): this one takes the callers (and their complaints) hashing to
        # `index`; see `owner`. None: everything.
        self.shard = shard if shard is None or shard[1] > 1 else None
        self._owners: dict[str, int] = {}  # complaint -> shard, from its submission
        # what the pipeline holds
        self.states: dict[str, ComplaintState] = {}
        # complaint not registered yet -> the commands it holds (core/pending.py); the
        # worker's per-partition count bound is not mirrored (a safety limit no replay
        # reaches by default)
        self.held: dict[str, tuple[Held, ...]] = {}
        self.held_max_age = held_max_age
        self.callers: dict[str, CallerHistory] = {}
        self.time_index = TimeIndex()
        # complaint -> its next state-level reminder, not yet fired (fold_reminders)
        self.folded: dict[str, datetime] = {}
        self.clock: datetime | None = None  # the latest moment seen
        # what it sent
        self.events: dict[str, Event] = {}  # event_id -> event (with keep_events)
        self.dead_letters: list[DeadLetterNote] = []
        # running figures (kept whether or not the events are)
        self.inputs = 0
        self.submitted = 0
        self.intake = Counter[str]()  # registered / duplicate / limited / invalid
        self.outputs = 0
        self.ticks = 0
        self.by_type = Counter[str]()
        self.escalations = Counter[tuple[str, int]]()  # (cause, to level)
        self.department_escalations = Counter[str]()
        self.department_lapses = Counter[str]()
        self.lapsed: set[str] = set()  # complaints with a lapse on record
        self.seconds = 0.0
        # callers whose history may be forgotten: (latest submission, caller), time order
        self._caller_expiry: deque[tuple[datetime, str]] = deque()
        self._caller_keep = max(self.intake_rules.duplicate_window, timedelta(days=1)) + \
            timedelta(days=1)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Backtest:
        """The calendar, policy and intake rules a worker builds from these settings
        (agents/worker.py `Worker.__init__`), and the caller pseudonym's key."""
        return cls(
            policy=settings.policy(),
            calendar=settings.calendar(),
            intake_rules=IntakeRules(
                duplicate_window=timedelta(days=settings.duplicate_window_days),
                daily_limit=settings.caller_daily_limit),
            citizen_ref_key=_revealed(settings.citizen_ref_key),
            held_max_age=timedelta(minutes=settings.held_command_max_age_minutes),
            **kwargs,
        )

    # --- in -----------------------------------------------------------------------------
    def run(self, inputs: Iterable[Event | tuple[str, bytes]], until: datetime | None = None,
            progress: Callable[[Progress], None] | None = None,
            progress_every: timedelta = timedelta(days=30)) -> Backtest:
        """Every input in turn (an event, or (topic, raw bytes) as read from a topic), then
        every wake-up due by `until` (default: the last input's moment). `progress` is
        called every `progress_every` of simulated time."""
        started = time.perf_counter()
        next_report: datetime | None = None
        feed, feed_raw = self.feed, self.feed_raw
        # Millions of short-lived records over a growing heap of states: the cyclic
        # collector's default pace costs ~10 % here for nothing (no cycles are made).
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], 50_000), 20, 100)
        try:
            for item in inputs:
                if type(item) is tuple:
                    feed_raw(item[1], item[0])
                else:
                    feed(item)  # type: ignore[arg-type]
                if progress is not None and self.clock is not None:
                    at = self.clock
                    if next_report is None:
                        next_report = at + progress_every
                    elif at >= next_report:
                        next_report = at + progress_every
                        progress(self._progress(at, started))
            if until is not None:
                self.advance(until)
            if progress is not None and self.clock is not None:
                progress(self._progress(self.clock, started))
        finally:
            gc.set_threshold(*thresholds)
            self.seconds += time.perf_counter() - started
        return self

    def _progress(self, at: datetime, started: float) -> Progress:
        return Progress(at, self.inputs, self.submitted, self.outputs,
                        self.seconds + time.perf_counter() - started)

    def feed(self, event: Event) -> None:
        """One input, as a worker would take it from its topic: a submission goes through
        intake, anything else to the lifecycle. Wake-ups due by its moment fire first."""
        at = event.occurred_at
        if isinstance(event, ClockTick):
            # Ticks move the worker's clock (agents/lifecycle.py); a watermark is no more.
            self.advance(at)
            if event.complaint_id == WATERMARK_ID:
                if self.shard is None or self.shard[0] == 0:
                    self.inputs += 1
                return
        else:
            self._fire_due(at)
        if isinstance(event, ComplaintSubmitted):
            self._submission(event)
        elif self.shard is None or self.owner(event.complaint_id) == self.shard[0]:
            self.inputs += 1
            self._command(event, COMPLAINT_COMMANDS.name)

    def owner(self, complaint_id: str) -> int:
        """With shards: the shard of the caller who submitted the complaint (all of one
        caller's submissions are decided in one place, as on the by-citizen topic), or for
        a complaint never submitted, one fixed by its id."""
        assert self.shard is not None
        found = self._owners.get(complaint_id)
        if found is None:
            return zlib.crc32(complaint_id.encode()) % self.shard[1]
        return found

    def feed_raw(self, raw: bytes, topic: str = COMPLAINT_COMMANDS.name,
                 max_payload_bytes: int | None = None) -> None:
        """One input in its wire form (a recorded topic): what cannot be decoded, or does
        not belong on `topic`, becomes a dead letter as in the worker (with shards, in the
        first)."""
        reason = (payload_too_large(len(raw), max_payload_bytes)
                  if max_payload_bytes is not None else None)
        if reason is None:
            allowed = (ComplaintSubmitted,) if topic == COMPLAINTS_SUBMITTED.name else COMMANDS
            try:
                event = decode(raw, allowed=allowed)
            except InvalidEvent as exc:
                reason = str(exc)
        if reason is not None:
            if self.shard is None or self.shard[0] == 0:
                self.inputs += 1
                self._dead(topic, "", "", reason)
            return
        self.feed(event)

    def advance(self, to: datetime) -> None:
        """Event time reaches `to` (a watermark): every wake-up due by then fires."""
        self._fire_due(to)

    # --- intake (agents/intake.py) -------------------------------------------------------
    def _submission(self, submitted: ComplaintSubmitted) -> None:
        cid = submitted.complaint_id
        try:
            check_routable(submitted)
        except RoutingError as exc:
            if self.shard is not None and not self._take(cid, None):
                return
            self.inputs += 1
            self.submitted += 1
            self.intake["invalid"] += 1
            self._dead(COMPLAINTS_SUBMITTED.name, cid, submitted.event_id, str(exc))
            return
        ref = citizen_ref(submitted.citizen_phone, self.citizen_ref_key)
        if self.shard is not None and not self._take(cid, ref):
            return
        self.inputs += 1
        self.submitted += 1
        history = self.callers.get(ref)
        decision = decide_submission(history or _NO_HISTORY, submitted, self.intake_rules)
        if not decision.repeated:
            self.callers[ref] = decision.history
            self._caller_expiry.append((submitted.occurred_at, ref))
        outcome = decision.submission.outcome
        self.intake[outcome] += 1
        if outcome == "registered":
            self._command(registration(submitted, ref), COMPLAINT_COMMANDS.name)
        elif outcome == "duplicate":
            self._emit((duplicate_link(submitted, decision.submission.linked_to or ""),))
        else:
            self._dead(INTAKE_BY_CITIZEN.name, submitted.complaint_id, submitted.event_id,
                       limit_reason(self.intake_rules))
        self._forget_callers(submitted.occurred_at)

    def _take(self, complaint_id: str, ref: str | None) -> bool:
        """With shards: whether this submission is this shard's (its caller's), noting the
        complaint's shard for its commands either way."""
        assert self.shard is not None
        index, count = self.shard
        mine = (int(ref[:8], 16) if ref is not None
                else zlib.crc32(complaint_id.encode())) % count
        known = self._owners.setdefault(complaint_id, mine)
        if known != mine:
            raise ValueError(
                f"{complaint_id} is submitted by two callers: its commands cannot follow both "
                "into separate shards; run this stream with one job")
        return mine == index

    def _forget_callers(self, now: datetime) -> None:
        """A caller whose every submission is older than the duplicate window (and a day)
        has a history `decide_submission` would discard: forget it, so memory holds only
        recent callers (a year of all-India callers would not fit otherwise)."""
        expiry, callers, horizon = self._caller_expiry, self.callers, now - self._caller_keep
        while expiry and expiry[0][0] < horizon:
            at, ref = expiry.popleft()
            history = callers.get(ref)
            if history is not None and history.submissions[-1].at <= at:
                del callers[ref]

    # --- lifecycle (agents/lifecycle.py) and the deadline timer (agents/deadlines.py) ----
    def _command(self, command: Event, topic: str) -> None:
        cid = command.complaint_id
        if cid in self.folded:
            self._unfold(cid, command.occurred_at, topic)
        self._decide(cid, command, topic)

    def _decide(self, cid: str, command: Event, topic: str) -> None:
        """The lifecycle agent's step: decide, keep the state, schedule the next wake-up,
        send the events, dead-letter a refusal.

        With fold_reminders, a complaint overdue at the state level that has had its first
        reminder is not woken for the next ones: they repeat every
        `state_reminder_every` with nothing else changing until its next command, and a
        year of them is most of the work (a complaint nobody acts on is reminded daily for
        ever). They are counted instead (`folded_reminders`), and the complaint's next
        command catches them up through the core before it applies (decide fires what fell
        due first), so its events and state are exactly the worker's from there on."""
        before = self.states.get(cid)
        if before is not None:
            decision = decide(before, command, self.context)
            wake = None
        else:
            # Not registered yet: hold what overtook the registration (core/pending.py),
            # as the worker does, until its registration or its expiry.
            held = self.held.pop(cid, ())
            outcome = receive(None, held, Held(command), self.context,
                              max_age=self.held_max_age)
            decision = outcome.decision
            if outcome.held:
                self.held[cid] = outcome.held
            wake = expiry(outcome.held, self.held_max_age)
        after = decision.state
        if after is not None and after is not before:
            self.states[cid] = after
        if after is not None:
            wake = next_wakeup(after, self.context.policy)
        if (self.fold_reminders and wake is not None and after is not None
                and after.overdue_at_state and after.reminders >= 1):
            self.folded[cid] = wake
            wake = None
        self.time_index.schedule(cid, wake)
        if decision.events:
            self._emit(decision.events)
            for out in decision.events:
                if type(out) is CommandRejected:
                    # a held command refused now is dead-lettered as itself
                    self._dead(topic, cid, out.rejected_event_id, f"refused: {out.reason}")

    def _unfold(self, cid: str, now: datetime, topic: str) -> None:
        """Before a command for a complaint whose reminders were folded: the core fires at
        most MAX_STEPS_PER_TICK wake-ups per decision (core/timers.py), so reminders beyond
        that many are caught up first by ticks, each dated at a reminder's moment."""
        every = self.context.policy.state_reminder_every
        while True:
            nxt = self.folded.pop(cid)
            last = nxt + (CATCH_UP_REMINDERS - 1) * every
            if last >= now:
                return
            self._decide(cid, ClockTick(event_id=derived_id(cid, "tick", last.isoformat()),
                                        complaint_id=cid, occurred_at=last), topic)
            if cid not in self.folded:
                return

    def folded_reminders(self, until: datetime | None = None) -> int:
        """The state-level reminders folded away (fold_reminders) that fell due by `until`
        (default: the clock): each is a ClockTick, a complaint.lapse_recorded and a
        complaint.overdue_at_state the worker would have sent."""
        until = until or self.clock
        if until is None:
            return 0
        every = self.context.policy.state_reminder_every
        return sum((until - nxt) // every + 1 for nxt in self.folded.values() if nxt <= until)

    def materialize(self) -> None:
        """Fire the folded reminders due by the clock through the core, so that `states`
        are exactly the worker's (as without fold_reminders; as slow, too)."""
        if self.clock is None:
            return
        for cid in list(self.folded):
            self._unfold(cid, self.clock, COMPLAINT_COMMANDS.name)
            self._decide(cid, ClockTick(
                event_id=derived_id(cid, "tick", self.clock.isoformat()), complaint_id=cid,
                occurred_at=self.clock), COMPLAINT_COMMANDS.name)

    def _fire_due(self, now: datetime) -> None:
        """Each wake-up due by `now`, earliest first, as a ClockTick dated at its own
        moment with the worker's event id; a complaint may wake again before `now`."""
        if self.clock is None or now > self.clock:
            self.clock = now
        index = self.time_index
        while True:
            due = index.next_due()
            if due is None or due > now:
                return
            for cid, when in index.pop_due(due):
                self.ticks += 1
                self._command(ClockTick(event_id=derived_id(cid, "tick", when.isoformat()),
                                        complaint_id=cid, occurred_at=when),
                              COMPLAINT_COMMANDS.name)

    # --- out ----------------------------------------------------------------------------
    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self.outputs += 1
            kind = type(event)
            self.by_type[kind.EVENT_TYPE] += 1
            if kind is ComplaintEscalated:
                self.escalations[(event.cause, event.to_level)] += 1  # type: ignore[attr-defined]
                self.department_escalations[event.department] += 1  # type: ignore[attr-defined]
            elif kind is LapseRecorded:
                self.lapsed.add(event.complaint_id)
                if event.reminder <= 1:  # type: ignore[attr-defined]
                    # one lapse, one lapse_id: the reminders at level 4 re-record it
                    self.department_lapses[event.department] += 1  # type: ignore[attr-defined]
            if self.keep_events:
                self.events[event.event_id] = event
            if self.on_event is not None:
                self.on_event(event)

    def _dead(self, topic: str, complaint_id: str, event_id: str, reason: str) -> None:
        self.dead_letters.append(DeadLetterNote(topic, complaint_id, event_id, reason))

    # --- figures ------------------------------------------------------------------------
    def summary(self) -> Summary:
        departments: dict[str, DepartmentFigures] = {}
        overdue = closed = closed_in_time = 0
        for cid, state in self.states.items():
            dept = departments.get(state.department)
            if dept is None:
                dept = departments[state.department] = DepartmentFigures()
            dept.complaints += 1
            if state.status in CLOSED:
                closed += 1
                dept.closed += 1
                if cid not in self.lapsed:
                    closed_in_time += 1
                    dept.closed_in_time += 1
            if state.overdue_at_state and state.status not in CLOSED:
                overdue += 1
                dept.overdue_at_state += 1
        for code, n in self.department_escalations.items():
            departments.setdefault(code, DepartmentFigures()).escalations = n
        for code, n in self.department_lapses.items():
            departments.setdefault(code, DepartmentFigures()).lapses = n
        by_type = Counter(self.by_type)
        folded = self.folded_reminders()
        if folded:
            by_type["complaint.lapse_recorded"] += folded
            by_type["complaint.overdue_at_state"] += folded
        return Summary(
            submitted=self.submitted, intake=dict(self.intake), complaints=len(self.states),
            inputs=self.inputs, outputs=self.outputs + 2 * folded, ticks=self.ticks + folded,
            folded_reminders=folded,
            events_by_type=dict(by_type), escalations=dict(self.escalations),
            closed=closed, closed_in_time=closed_in_time, overdue_at_state=overdue,
            dead_letters=Counter(_reason_kind(d.reason) for d in self.dead_letters),
            departments=departments, seconds=self.seconds, clock=self.clock)


_NO_HISTORY = CallerHistory()


def _revealed(key: object) -> str:
    """The pseudonym key as the worker uses it (a plain string; a Secret if ever wrapped)."""
    reveal = getattr(key, "reveal", None)
    return reveal() if callable(reveal) else str(key)


def _reason_kind(reason: str) -> str:
    """A dead letter's reason without its particulars (for counting)."""
    return reason.split(":")[0] if reason.startswith(("refused", "caller limit")) else reason


@dataclass
class DepartmentFigures:
    complaints: int = 0
    escalations: int = 0
    lapses: int = 0
    closed: int = 0
    closed_in_time: int = 0
    overdue_at_state: int = 0

    @property
    def compliance(self) -> float | None:
        return self.closed_in_time / self.closed if self.closed else None

    def add(self, other: DepartmentFigures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Summary:
    submitted: int
    intake: dict[str, int]
    complaints: int
    inputs: int
    outputs: int
    ticks: int
    folded_reminders: int
    events_by_type: dict[str, int]
    escalations: dict[tuple[str, int], int]
    closed: int
    closed_in_time: int
    overdue_at_state: int
    dead_letters: Counter
    departments: dict[str, DepartmentFigures] = field(default_factory=dict)
    seconds: float = 0.0
    clock: datetime | None = None

    @property
    def compliance(self) -> float | None:
        """SLA compliance: the share of closed complaints closed with no lapse on record
        (the definition of the report_sla_compliance view)."""
        return self.closed_in_time / self.closed if self.closed else None

    @property
    def total_escalations(self) -> int:
        return sum(self.escalations.values())

    @classmethod
    def merge(cls, parts: list[Summary], seconds: float | None = None) -> Summary:
        """The figures of shards run apart (each a disjoint set of callers), as one run."""
        counted = ("submitted", "complaints", "inputs", "outputs", "ticks", "folded_reminders",
                   "closed", "closed_in_time", "overdue_at_state")
        totals: dict[str, Any] = {name: sum(getattr(p, name) for p in parts)
                                  for name in counted}
        for name in ("intake", "events_by_type", "escalations"):
            total: Counter = Counter()
            for p in parts:
                total.update(getattr(p, name))
            totals[name] = dict(total)
        dead: Counter = Counter()
        departments: dict[str, DepartmentFigures] = {}
        for p in parts:
            dead.update(p.dead_letters)
            for code, figures in p.departments.items():
                departments.setdefault(code, DepartmentFigures()).add(figures)
        clocks = [p.clock for p in parts if p.clock is not None]
        return cls(**totals, dead_letters=dead, departments=departments,
                   seconds=max(p.seconds for p in parts) if seconds is None else seconds,
                   clock=max(clocks) if clocks else None)

    def lines(self) -> list[str]:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        out_rate = self.outputs / self.seconds if self.seconds else 0.0
        intake = ", ".join(f"{k} {v:,}" for k, v in sorted(self.intake.items()))
        lines = [
            f"complaints      {self.submitted:,} submitted ({intake}); "
            f"{self.complaints:,} in the lifecycle",
            f"inputs          {self.inputs:,} (+ {self.ticks:,} deadline ticks)",
            f"events out      {self.outputs:,}"
            + (f" ({self.folded_reminders:,} state-level reminders counted, not run: "
               "folded)" if self.folded_reminders else ""),
        ]
        for kind, n in sorted(self.events_by_type.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {kind:28} {n:>10,}")
        causes = sorted({c for c, _ in self.escalations})
        lines.append(f"escalations     {self.total_escalations:,} "
                     "(by cause; columns: level reached)")
        if causes:
            lines.append(f"  {'cause':24}" + "".join(f"{'L' + str(lvl):>9}" for lvl in (2, 3, 4))
                         + f"{'total':>9}")
            for cause in causes:
                row = [self.escalations.get((cause, lvl), 0) for lvl in (2, 3, 4)]
                lines.append(f"  {cause:24}" + "".join(f"{n:>9,}" for n in row)
                             + f"{sum(row):>9,}")
        compliance = (f"{self.compliance:.1%} of {self.closed:,} closed complaints closed "
                      "with no lapse" if self.compliance is not None else "no closures")
        lines += [
            f"SLA compliance  {compliance}",
            f"overdue @ state {self.overdue_at_state:,} complaints open and overdue at the "
            "state level",
            "dead letters    " + (", ".join(f"{k} {v:,}" for k, v in
                                            self.dead_letters.most_common()) or "none"),
            f"elapsed         {self.seconds:.1f} s: {rate:,.0f} inputs/s, "
            f"{out_rate:,.0f} events out/s",
        ]
        return lines


# --- what-if: policy files ----------------------------------------------------------------

# LifecyclePolicy names that differ from the settings' (the settings' names win).
POLICY_ALIASES = {"warning_fractions": "sla_warning_fractions"}
# What a policy file may set: the settings that build the policy, calendar and intake rules.
POLICY_SETTINGS = (
    "sla_warning_fractions", "transfer_cap", "max_reopens", "callback_max_attempts",
    "callback_retry_minutes", "unreachable_rule", "state_reminder_hours",
    "verification_sample_rate", "duplicate_window_days", "caller_daily_limit",
    "weekly_offs", "holidays",
)
NOT_IN_THE_CORE = {
    "callback_retry_after": "use callback_retry_minutes",
    "state_reminder_every": "use state_reminder_hours",
}
TIME_LIMIT_KEYS = ("sla_days", "time_limit", "time_limits", "time_limit_days",
                   "time_limits_by_level", "sla_days_by_level", "level_time_limits")


class PolicyFileError(ValueError):
    """A policy file the backtest cannot use; the message says why."""


@dataclass(frozen=True)
class PolicySpec:
    """A named what-if: the settings a policy file changes, applied to a base."""

    name: str
    changes: dict[str, object]
    settings: Settings

    def backtest(self, **kwargs: Any) -> Backtest:
        return Backtest.from_settings(self.settings, **kwargs)


def load_policy(path: Path | str, base: Settings | None = None) -> PolicySpec:
    """A JSON object of settings (`transfer_cap`, `SANKALP_TRANSFER_CAP`, or the policy's
    own `warning_fractions`), plus an optional `name`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyFileError(f"{path}: a JSON object of settings is expected")
    return policy_from_dict(data, base, default_name=path.stem)


def policy_from_dict(data: dict, base: Settings | None = None,
                     default_name: str = "policy") -> PolicySpec:
    from streams.settings import Settings

    base = base or Settings()
    by_env = {env: name for name, env in Settings.ENV_NAMES.items()}
    kinds = {f.name: str(f.type) for f in fields(Settings)}
    name = str(data.get("name", default_name))
    changes: dict[str, object] = {}
    for key, value in data.items():
        if key in ("name", "description"):
            continue
        setting = POLICY_ALIASES.get(key, by_env.get(key, key))
        if key in TIME_LIMIT_KEYS or "time_limit" in key or "sla_days" in key:
            raise PolicyFileError(
                f"{key}: the core has no time limit per level or per policy; a complaint's "
                "limit is its category's (core/reference/categories.py) at every level. "
                f"Settable: {', '.join(POLICY_SETTINGS)}")
        if key in NOT_IN_THE_CORE:
            raise PolicyFileError(f"{key}: {NOT_IN_THE_CORE[key]}")
        if setting not in POLICY_SETTINGS:
            raise PolicyFileError(f"{key}: not a policy setting; settable: "
                                  f"{', '.join(POLICY_SETTINGS)}")
        changes[setting] = _coerce(setting, value, kinds[setting])
    settings = base.with_overrides(**changes)
    try:
        settings.policy()
        settings.calendar()
    except ValueError as exc:
        raise PolicyFileError(f"{name}: {exc}") from None
    return PolicySpec(name, changes, settings)


def _coerce(name: str, value: object, kind: str) -> object:
    """A JSON value as the setting's type: lists and numbers become the comma-separated
    text the string settings hold (warning fractions, weekly offs, holidays)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str" and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if kind == "str" and (number or isinstance(value, str)):
        return str(value)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and number:
        return float(value)  # type: ignore[arg-type]
    raise PolicyFileError(f"{name}: {value!r} is not a {kind}")


# --- inputs -------------------------------------------------------------------------------


def simulated(days: float, rate: float, seed: int) -> Iterator[Event]:
    """The simulator's statewide traffic (simulator/traffic.py), deterministic by seed."""
    from simulator.traffic import Traffic, TrafficProfile

    return iter(Traffic(TrafficProfile(seed=seed, days=days, complaints_per_day=rate)))


def simulated_end(days: float, seed: int) -> datetime:
    from simulator.traffic import TrafficProfile

    profile = TrafficProfile(seed=seed, days=days)
    return profile.start + timedelta(days=days)


def recorded(path: Path | str) -> Iterator[tuple[str, bytes]]:
    """(topic, raw) from a JSON-lines file of submissions and commands, e.g. a dump of
    complaints.submitted.v1 and complaints.commands.v1 merged in time order. A line that is
    a submission goes to intake; anything else to the lifecycle."""
    with open(path, "rb") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            topic = (COMPLAINTS_SUBMITTED.name if b'"complaint.submitted"' in line
                     else COMPLAINT_COMMANDS.name)
            yield topic, line


# --- runs: one process or several -------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where the inputs come from: the simulator (days, rate, seed; deterministic) or a
    JSON-lines file of submissions and commands."""

    days: float = 365.0
    rate: float = 420.0
    seed: int = 1100
    path: str | None = None

    def inputs(self) -> Iterator[Event] | Iterator[tuple[str, bytes]]:
        if self.path:
            return recorded(self.path)
        return simulated(self.days, self.rate, self.seed)

    def until(self) -> datetime | None:
        """Event time at the end: the simulated period's end (a file: its last input)."""
        return None if self.path else simulated_end(self.days, self.seed)

    def describe(self) -> str:
        if self.path:
            return f"the recorded stream {self.path}"
        return (f"{self.days:g} simulated days at {self.rate:g} complaints/day "
                f"(seed {self.seed})")


def printer(prefix: str) -> Callable[[Progress], None]:
    def show(p: Progress) -> None:
        rate = p.inputs / p.seconds if p.seconds else 0.0
        print(f"{prefix}{p.simulated:%Y-%m-%d} simulated: {p.complaints:,} complaints, "
              f"{p.inputs:,} inputs, {p.outputs:,} events out; {p.seconds:.1f} s "
              f"({rate:,.0f} inputs/s)", flush=True)
    return show


def run_one(settings: Settings, source: Source, *, fold: bool = True,
            shard: tuple[int, int] | None = None, progress: str | None = None,
            progress_every: timedelta = timedelta(days=30)) -> Summary:
    """One run (or one shard of it) in this process; `progress`: a prefix for progress
    lines, None for none."""
    backtest = Backtest.from_settings(settings, keep_events=False, fold_reminders=fold,
                                      shard=shard)
    backtest.run(source.inputs(), source.until(),
                 progress=printer(progress) if progress is not None else None,
                 progress_every=progress_every)
    return backtest.summary()


def run_sharded(settings: Settings, source: Source, jobs: int, *, fold: bool = True,
                progress: str | None = None,
                progress_every: timedelta = timedelta(days=30)) -> Summary:
    """`jobs` processes, each the callers hashing to it (and their complaints), each
    reading the whole stream: exact, since one caller's submissions and one complaint's
    commands never cross shards. Worth it on idle cores only."""
    if jobs <= 1:
        return run_one(settings, source, fold=fold, progress=progress,
                       progress_every=progress_every)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(run_one, settings, source, fold=fold, shard=(i, jobs),
                               progress=(None if progress is None
                                         else f"{progress}[{i + 1}/{jobs}] "),
                               progress_every=progress_every)
                   for i in range(jobs)]
        parts = [f.result() for f in futures]
    return Summary.merge(parts, seconds=time.perf_counter() - started)


def run_compare(first: PolicySpec, second: PolicySpec, source: Source, *, jobs: int = 1,
                fold: bool = True, progress: str | None = None,
                progress_every: timedelta = timedelta(days=30)) -> tuple[Summary, Summary]:
    """The same stream under two policies; with two jobs or more, side by side."""
    if jobs <= 1:
        return tuple(run_one(spec.settings, source, fold=fold,  # type: ignore[return-value]
                             progress=None if progress is None else f"{progress}{spec.name}: ",
                             progress_every=progress_every) for spec in (first, second))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(run_one, spec.settings, source, fold=fold,
                               progress=(None if progress is None
                                         else f"{progress}{spec.name}: "),
                               progress_every=progress_every) for spec in (first, second)]
        return futures[0].result(), futures[1].result()


# --- the comparison ---------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _change(a: int, b: int) -> str:
    if a == b:
        return "0"
    return f"{(b - a) / a:+.0%}" if a else "new"


def comparison_lines(a: Summary, b: Summary, name_a: str = "A", name_b: str = "B"
                     ) -> list[str]:
    """Per department (most escalations first) and in total: complaints, escalations,
    lapses, SLA compliance and complaints overdue at the state level under each policy."""
    codes = sorted(set(a.departments) | set(b.departments),
                   key=lambda c: (-(a.departments.get(c, DepartmentFigures()).escalations
                                    + b.departments.get(c, DepartmentFigures()).escalations), c))
    head = (f"{'department':10} {'complaints':>10} | {'escalations':^23} | {'lapses':^17} | "
            f"{'SLA compliance':^15} | {'overdue @ state':^15}")
    sub = (f"{'':10} {'':>10} | {name_a[:7]:>7} {name_b[:7]:>7} {'change':>7} | "
           f"{name_a[:7]:>8} {name_b[:7]:>8} | {name_a[:7]:>7} {name_b[:7]:>7} | "
           f"{name_a[:7]:>7} {name_b[:7]:>7}")
    lines = [head, sub, "-" * len(head)]

    def row(label: str, x: DepartmentFigures, y: DepartmentFigures) -> str:
        return (f"{label:10} {x.complaints:>10,} | {x.escalations:>7,} {y.escalations:>7,} "
                f"{_change(x.escalations, y.escalations):>7} | {x.lapses:>8,} {y.lapses:>8,} | "
                f"{_pct(x.compliance):>7} {_pct(y.compliance):>7} | "
                f"{x.overdue_at_state:>7,} {y.overdue_at_state:>7,}")

    for code in codes:
        lines.append(row(code, a.departments.get(code, DepartmentFigures()),
                         b.departments.get(code, DepartmentFigures())))
    total_a, total_b = DepartmentFigures(), DepartmentFigures()
    for figures in a.departments.values():
        total_a.add(figures)
    for figures in b.departments.values():
        total_b.add(figures)
    lines += ["-" * len(head), row("all", total_a, total_b)]
    return lines


def plot_comparison(a: Summary, b: Summary, name_a: str, name_b: str, path: Path | str,
                    title: str = "", top: int = 20) -> Path:
    """Escalations and SLA compliance per department (the `top` with most escalations)
    under both policies, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    empty = DepartmentFigures()
    codes = sorted(set(a.departments) | set(b.departments),
                   key=lambda c: -(a.departments.get(c, empty).escalations
                                   + b.departments.get(c, empty).escalations))[:top]
    codes.reverse()  # most at the top of a horizontal bar chart
    ys = range(len(codes))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(4.0, 0.35 * len(codes) + 1.5)),
                                      sharey=True)
    height = 0.4
    for offset, summary, name, colour in ((height / 2, a, name_a, "#4c72b0"),
                                          (-height / 2, b, name_b, "#dd8452")):
        figures = [summary.departments.get(c, empty) for c in codes]
        left.barh([y + offset for y in ys], [f.escalations for f in figures], height,
                  label=name, color=colour)
        right.barh([y + offset for y in ys],
                   [100 * (f.compliance or 0.0) for f in figures], height, label=name,
                   color=colour)
    left.set_yticks(list(ys), codes)
    left.set_xlabel("escalations")
    left.legend(loc="lower right")
    right.set_xlabel("SLA compliance: closed with no lapse (%)")
    right.set_xlim(0, 100)
    fig.suptitle(title or f"{name_a} vs {name_b}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
