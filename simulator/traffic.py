"""Statewide traffic for Himachal Pradesh, deterministic from a seed.

Yields the commands a real day brings, in simulated-time order: submissions from every
channel (phone only in helpline hours, Jan Manch in bursts on forum days), officers who act
on time, late or never (by department), citizens who are mostly satisfied and sometimes
unreachable, and CM / minister check calls. Memory holds only what is still to happen
(a heap of future actions), so a year of all-India volume streams through.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.calendar import IST, WorkingCalendar
from core.reference import CATEGORIES, DISTRICTS, Block, OfficerDirectory, category
from core.routing import locate, next_level, officer_at, route_new
from schemas.events import (
    CitizenFeedback,
    ComplaintSubmitted,
    Event,
    OfficerActed,
    VerificationResult,
)

# Shares of complaints by channel (phone dominates the 1100 helpline).
CHANNELS = (("phone_1100", 0.62), ("portal", 0.14), ("app", 0.1), ("whatsapp", 0.1),
            ("cm_office", 0.04))
# What people complain about most: water, power, roads, land records, pensions, rations.
HEAVY_PREFIXES = ("drinking_water", "water_", "electricity", "transformer", "low_voltage",
                  "road", "landslide", "land_records", "mutation", "old_age_pension",
                  "pension", "ration", "hospital", "street_light")
# Share of officers who act late (after the time limit) or never, by department.
SLOW_DEPARTMENTS = {"REV": (0.35, 0.1), "PWD": (0.3, 0.08), "JSV": (0.2, 0.05),
                    "HPSEBL": (0.15, 0.04)}
DEFAULT_LATENESS = (0.15, 0.04)
TEXTS = (
    "गाँव में तीन दिन से पानी नहीं आ रहा है",
    "बिजली बार-बार जा रही है, transformer खराब है",
    "सड़क पर बड़े गड्ढे हैं, bus नहीं आती",
    "Pension has not been credited for three months",
    "राशन डिपो में चावल नहीं मिला",
    "Street light near the school is not working for two weeks",
    "जमीन का इंतकाल (mutation) छह महीने से लंबित है",
    "Doctor not available at the PHC in the evening",
)


@dataclass(frozen=True)
class TrafficProfile:
    seed: int = 1100
    start: datetime = datetime(2026, 4, 1, 1, 30, tzinfo=UTC)  # 07:00 IST
    complaints_per_day: float = 420.0  # Himachal: ~50,700 registered in 4 months
    days: float = 30.0
    satisfied: float = 0.8
    unreachable: float = 0.08
    verification_share: float = 0.05
    verification_fails: float = 0.2
    jan_manch_every_days: int = 7  # a forum somewhere in the state about once a week
    jan_manch_size: int = 60

    @property
    def total(self) -> int:
        return int(self.complaints_per_day * self.days)


class _Weighted:
    """A weighted choice among (value, weight) pairs, its cumulative weights summed once:
    `rng.choices` with these cum_weights draws exactly what it draws with the weights (the
    same sum, the same random number), so seeded streams do not change."""

    def __init__(self, pairs) -> None:
        values, weights = zip(*pairs, strict=True)
        self.values = values
        self.cum_weights = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


_CHANNEL = _Weighted(CHANNELS)


class Traffic:
    """Iterate to get (simulated time, command); nothing is held but future actions."""

    def __init__(self, profile: TrafficProfile, directory: OfficerDirectory | None = None,
                 calendar: WorkingCalendar | None = None) -> None:
        from core.reference import build_officer_directory

        self.profile = profile
        self.rng = random.Random(profile.seed)
        self.directory = directory or OfficerDirectory(build_officer_directory())
        self.calendar = calendar or WorkingCalendar()
        self.districts = _Weighted([(d, d.population_weight) for d in DISTRICTS])
        self.categories = _Weighted([(c, 4.0 if c.code.startswith(HEAVY_PREFIXES) else 1.0)
                                     for c in CATEGORIES])
        self._future: list[tuple[datetime, int, Event]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def _arrival_times(self) -> Iterator[tuple[datetime, str]]:
        """Poisson arrivals at the profile's rate, merged with Jan Manch bursts."""
        return heapq.merge(self._everyday(), self._forums())

    def _everyday(self) -> Iterator[tuple[datetime, str]]:
        p = self.profile
        mean_gap = 86400.0 / p.complaints_per_day
        t, end = p.start, p.start + timedelta(days=p.days)
        while True:
            t = t + timedelta(seconds=self.rng.expovariate(1.0 / mean_gap))
            if t >= end:
                return
            channel = _CHANNEL(self.rng)
            if channel == "phone_1100":
                local = t.astimezone(IST)
                # The call centre registers 07:00-22:00, Monday to Saturday.
                if not (7 <= local.hour < 22) or local.weekday() == 6:
                    channel = "portal"
            yield t, channel

    def _forums(self) -> Iterator[tuple[datetime, str]]:
        """A Jan Manch: a minister hears grievances in a district, every few days."""
        p = self.profile
        end = p.start + timedelta(days=p.days)
        forum = p.start + timedelta(days=2, hours=4)  # 11:00 IST
        while forum < end:
            for i in range(p.jan_manch_size):
                yield forum + timedelta(minutes=2 * i), "jan_manch"
            forum += timedelta(days=p.jan_manch_every_days)

    def _submission(self, at: datetime, channel: str) -> ComplaintSubmitted:
        district = self.districts(self.rng)
        block: Block = self.rng.choice(district.blocks)
        cat = self.categories(self.rng)
        n = next(self._ids)
        return ComplaintSubmitted(
            event_id=self._uuid(),
            complaint_id=f"HP-{self.profile.seed % 1000:03d}-{n:08d}",
            occurred_at=at,
            channel=channel,  # type: ignore[arg-type]
            category=cat.code,
            district=district.name,
            block=block.name,
            text=self.rng.choice(TEXTS),
            citizen_phone=f"9{self.rng.randrange(10**9):09d}",
            citizen_name="नागरिक",
        )

    def _plan(self, submitted: ComplaintSubmitted) -> None:
        """What will happen to this complaint: when its officer acts, and the answer."""
        route = route_new(self.directory, submitted.category, submitted.district,
                          submitted.block)
        place = locate(route.district, route.block)
        late, never = SLOW_DEPARTMENTS.get(route.department, DEFAULT_LATENESS)
        sla = category(submitted.category).sla_working_days
        roll = self.rng.random()
        if roll < never:
            return  # nobody acts: it climbs the ladder on lapses alone
        fraction = self.rng.uniform(1.1, 2.5) if roll < never + late else self.rng.uniform(
            0.1, 0.9)
        # Walk the ladder as the pipeline will: who holds the complaint when the officer acts?
        level, start = route.level, submitted.occurred_at
        acts_at = start + timedelta(days=sla * fraction)
        due = self.calendar.add_working_days(start, sla)
        while acts_at >= due:
            above = next_level(route.department, level)
            if above is None:
                break
            level, start = above, due
            due = self.calendar.add_working_days(start, sla)
        officer = officer_at(self.directory, route.department, level, place)
        cid = submitted.complaint_id
        self._later(acts_at, OfficerActed(event_id=self._uuid(), complaint_id=cid,
                                          occurred_at=acts_at, officer_id=officer,
                                          action="resolution_proposed"))
        answer_at = self.calendar.next_calling_time(acts_at + timedelta(hours=3))
        p = self.profile
        outcome_roll = self.rng.random()
        if outcome_roll < p.unreachable:
            outcome = "unreachable"
        elif outcome_roll < p.unreachable + p.satisfied:
            outcome = "satisfied"
        else:
            outcome = "not_satisfied"
        self._later(answer_at, CitizenFeedback(event_id=self._uuid(), complaint_id=cid,
                                               occurred_at=answer_at, outcome=outcome))
        if outcome == "satisfied" and self.rng.random() < p.verification_share:
            check_at = answer_at + timedelta(days=self.rng.uniform(2, 10))
            failed = self.rng.random() < p.verification_fails
            self._later(check_at, VerificationResult(
                event_id=self._uuid(), complaint_id=cid, occurred_at=check_at,
                verifier=self.rng.choice(["chief_minister", "minister"]),
                outcome="failed" if failed else "confirmed"))

    def _later(self, at: datetime, event: Event) -> None:
        heapq.heappush(self._future, (at, next(self._seq), event))

    def __iter__(self) -> Iterator[Event]:
        for at, channel in self._arrival_times():
            while self._future and self._future[0][0] <= at:
                yield heapq.heappop(self._future)[2]
            submitted = self._submission(at, channel)
            yield submitted
            self._plan(submitted)
        end = self.profile.start + timedelta(days=self.profile.days)
        while self._future and self._future[0][0] <= end:
            yield heapq.heappop(self._future)[2]

    @property
    def pending(self) -> int:
        return len(self._future)
