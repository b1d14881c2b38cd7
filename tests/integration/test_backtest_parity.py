"""Parity: a seeded stream through the real pipeline (Kafka, one worker in event time) and
through `Backtest` (bench/backtest.py, one process, no broker) leaves the same outputs:
the same events (by event_id, equal payloads), the same final state of every complaint
(its complaints.state.v1 snapshot) and the same dead letters.

The stream is the simulator's (officers on time, late or never; satisfied, dissatisfied
and unreachable citizens; check calls), plus callers who complain again (a duplicate, a
caller over the daily limit), a submission from no known place, a transfer, a special
close left waiting, and commands the lifecycle refuses. After the simulated days, time
runs on for weeks so that complaints nobody acts on climb to the state level and are
reminded there.

The pipeline is driven so that its outcome depends only on the input (as the fault lab
does, tests/integration/faultlab.py): submissions in rounds (each caller's first, then
second, ...), each round decided before the next, so one caller's submissions reach intake
in order whatever their partitions; then, once every complaint is registered, the
commands in time order, a watermark after each six-hour slice. The backtest reads the
same stream as it happened, interleaved, in time order: the order of unrelated complaints
does not matter, and a complaint catches up on its deadlines before each command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from harness import running_worker
from kit.reader import OutputReader

from bench.backtest import Backtest
from core.calendar import IST
from core.lifecycle import snapshot
from core.reference import OfficerDirectory, build_officer_directory, district
from core.routing import route_new
from schemas.events import (
    CitizenFeedback,
    ComplaintSubmitted,
    Event,
    OfficerActed,
)
from simulator.traffic import Traffic, TrafficProfile
from streams.topics import COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED

PROFILE = TrafficProfile(seed=2024, days=12, complaints_per_day=6, jan_manch_size=4,
                         verification_share=0.3)
END = PROFILE.start + timedelta(days=PROFILE.days)
HORIZON = END + timedelta(days=45)  # long enough to climb four levels and be reminded
SLICE = timedelta(hours=6)


def scenario() -> list[Event]:
    """The whole stream in time order (stable for equal times)."""
    rng = random.Random(PROFILE.seed)
    traffic = list(Traffic(PROFILE))
    subs = [e for e in traffic if isinstance(e, ComplaintSubmitted)]
    extra: list[Event] = []

    def again(original: ComplaintSubmitted, suffix: str, after: timedelta,
              **changes) -> ComplaintSubmitted:
        return dataclasses.replace(
            original, event_id=str(uuid.UUID(int=rng.getrandbits(128))),
            complaint_id=f"{original.complaint_id}-{suffix}",
            occurred_at=original.occurred_at + after, **changes)

    daytime = [s for s in subs if 8 <= s.occurred_at.astimezone(IST).hour <= 17
               and s.occurred_at + timedelta(hours=4) < END]
    first, second = daytime[0], daytime[len(daytime) // 2]
    # the same caller, subject and place an hour later: linked to the first
    extra.append(again(first, "DUP", timedelta(hours=1)))
    # the same caller twice more that day (limit 2): one registered, one refused
    other = [c for c in ("street_light", "ration_card", "old_age_pension")
             if c != second.category]
    extra.append(again(second, "R2", timedelta(hours=1), category=other[0]))
    extra.append(again(second, "R3", timedelta(hours=2), category=other[1]))
    # a place intake does not know: a dead letter
    extra.append(again(subs[1], "NOWHERE", timedelta(minutes=5), block="Atlantis",
                       citizen_phone="9816000001"))
    directory = OfficerDirectory(build_officer_directory())
    moved, waiting = subs[2], subs[3]
    officer = route_new(directory, moved.category, moved.district, moved.block).officer_id
    # a transfer to another block of the district, by the complaint's officer
    blocks = [b.name for b in district(moved.district).blocks if b.name != moved.block]
    extra.append(OfficerActed(
        event_id=str(uuid.UUID(int=rng.getrandbits(128))), complaint_id=moved.complaint_id,
        occurred_at=moved.occurred_at + timedelta(hours=20), officer_id=officer,
        action="transfer_requested", reason="wrong block", target_block=blocks[0]))
    # a special close proposed and never decided (its limit lapses meanwhile)
    officer = route_new(directory, waiting.category, waiting.district,
                        waiting.block).officer_id
    extra.append(OfficerActed(
        event_id=str(uuid.UUID(int=rng.getrandbits(128))), complaint_id=waiting.complaint_id,
        occurred_at=waiting.occurred_at + timedelta(hours=30), officer_id=officer,
        action="special_close_proposed", reason="a policy matter"))
    # refused: another officer acts; feedback on a complaint nobody registered
    extra.append(OfficerActed(
        event_id=str(uuid.UUID(int=rng.getrandbits(128))), complaint_id=subs[4].complaint_id,
        occurred_at=subs[4].occurred_at + timedelta(hours=2), officer_id="OFF-NOBODY",
        action="acknowledged"))
    extra.append(CitizenFeedback(
        event_id=str(uuid.UUID(int=rng.getrandbits(128))), complaint_id="HP-NEVER-SEEN",
        occurred_at=PROFILE.start + timedelta(days=3), outcome="satisfied"))
    return sorted([*traffic, *extra], key=lambda e: e.occurred_at)


def submission_rounds(stream: list[Event]) -> list[list[ComplaintSubmitted]]:
    """Each caller's first submission, then each caller's second, ..."""
    seen: Counter = Counter()
    rounds: dict[int, list[ComplaintSubmitted]] = defaultdict(list)
    for event in stream:
        if isinstance(event, ComplaintSubmitted):
            rounds[seen[event.citizen_phone]].append(event)
            seen[event.citizen_phone] += 1
    return [rounds[n] for n in sorted(rounds)]


def dead_letter_key(settings, letter) -> tuple[str, str, str]:
    topic = letter.source_topic.removeprefix(settings.topic_prefix)
    try:
        event_id = str(json.loads(letter.original()).get("event_id"))
    except ValueError:
        event_id = "?"
    return topic, event_id, letter.reason


def payload(event: Event) -> dict:
    return json.loads(event.to_json())


def differences(what: str, expected: dict, actual: dict) -> list[str]:
    lost = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    if not (lost or extra or changed):
        return []
    sample = ""
    if changed:
        k = changed[0]
        sample = f"; e.g. {k}: backtest {expected[k]} kafka {actual[k]}"
    elif lost:
        sample = f"; e.g. lost {expected[lost[0]]}"
    elif extra:
        sample = f"; e.g. extra {actual[extra[0]]}"
    return [f"{what}: {len(lost)} only in the backtest, {len(extra)} only on Kafka, "
            f"{len(changed)} different{sample}"]


@pytest.mark.timeout(900)
def test_the_backtest_decides_exactly_as_the_pipeline_in_event_time(test_settings):
    settings = test_settings.with_overrides(clock="event", tick_interval_seconds=0.1,
                                            caller_daily_limit=2)
    stream = scenario()
    submissions = [e for e in stream if isinstance(e, ComplaintSubmitted)]
    commands = [e for e in stream if not isinstance(e, ComplaintSubmitted)]
    assert 60 <= len(submissions) <= 120

    # --- the backtest: the stream as it happened, then time runs on to the horizon
    backtest = Backtest.from_settings(settings).run(stream, until=HORIZON)
    summary = backtest.summary()
    assert summary.intake.get("duplicate") == 1 and summary.intake.get("limited") == 1
    assert summary.intake.get("invalid") == 1
    kinds = summary.events_by_type
    for kind in ("complaint.escalated", "complaint.overdue_at_state", "complaint.closed",
                 "command.rejected", "special_close.requested", "complaint.reopened"):
        assert kinds.get(kind), f"the scenario has no {kind}: {kinds}"
    expected_events = {i: payload(e) for i, e in backtest.events.items()}
    expected_states = {c: payload(snapshot(s)) for c, s in backtest.states.items()}
    expected_letters = Counter((d.topic, d.event_id, d.reason) for d in backtest.dead_letters)

    # --- the pipeline
    with running_worker(settings) as (worker, pipeline):
        publisher = pipeline.publisher
        outputs = OutputReader(settings, decode_events=False, group="parity")
        try:
            def decided() -> set[str]:
                linked = {e["complaint_id"] for e in outputs.event_payloads.values()
                          if e["event_type"] == "complaint.duplicate_linked"}
                letters = set()
                for letter in outputs.dead_letters.values():
                    with contextlib.suppress(ValueError, KeyError):
                        letters.add(json.loads(letter.original())["complaint_id"])
                return set(outputs.states) | linked | letters

            for n, batch in enumerate(submission_rounds(stream)):
                for s in batch:
                    publisher.send(COMPLAINTS_SUBMITTED.name, s.complaint_id, s)
                publisher.flush()
                waiting = {s.complaint_id for s in batch}
                deadline = time.monotonic() + 120
                while waiting - decided():
                    assert time.monotonic() < deadline, (
                        f"round {n}: never decided {sorted(waiting - decided())[:5]}; "
                        f"worker log:\n{worker.tail()}")
                    worker.check_healthy()
                    outputs.poll(0.3)

            i, mark = 0, PROFILE.start
            while mark < HORIZON:
                mark = min(mark + SLICE, HORIZON)
                while i < len(commands) and commands[i].occurred_at <= mark:
                    publisher.send(COMPLAINT_COMMANDS.name, commands[i].complaint_id,
                                   commands[i])
                    i += 1
                publisher.watermark(mark)
                outputs.poll(0.02)
            assert i == len(commands)

            def settled() -> bool:
                return (set(outputs.event_payloads) >= set(expected_events)
                        and outputs.states == expected_states)

            deadline = time.monotonic() + 300
            while not settled() and time.monotonic() < deadline:
                worker.check_healthy()
                outputs.poll(0.5)
            outputs.poll(3.0)  # anything more would be a difference too
            actual_letters = Counter(dead_letter_key(settings, d)
                                     for d in outputs.dead_letters.values())
            problems = [
                *differences("events (by event_id)", expected_events,
                             outputs.event_payloads),
                *differences("final states", expected_states, outputs.states),
            ]
            if actual_letters != expected_letters:
                problems.append(f"dead letters: only in the backtest "
                                f"{list((expected_letters - actual_letters).items())[:3]}, "
                                f"only on Kafka "
                                f"{list((actual_letters - expected_letters).items())[:3]}")
            assert not problems, "\n".join(problems) + f"\nworker log:\n{worker.tail()}"
            print(f"\n[parity] {len(submissions)} submissions, {len(commands)} commands, "
                  f"{len(expected_events)} events, {len(expected_states)} complaints, "
                  f"{sum(expected_letters.values())} dead letters: identical", flush=True)
        finally:
            outputs.close()
