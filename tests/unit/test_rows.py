"""Lapse rows from Kafka records (sinks/rows.py): pure, no broker, no database.

The core decides what a lapse is (complaint.lapse_recorded); the sink stores one row per
lapse with the figures of its record furthest past due, whatever the batches look like.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from core.lifecycle import ComplaintState, Context, decide
from core.reference import OfficerDirectory, build_officer_directory
from schemas import contract
from schemas.events import (
    ClockTick,
    ComplaintEscalated,
    ComplaintRegistered,
    Event,
    LapseRecorded,
    OverdueAtState,
    decode,
)
from schemas.records import InvalidEvent
from sinks.rows import LAPSE_COLUMNS, LAPSE_FIGURES, Batch, Record

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST
CTX = Context(directory=OfficerDirectory(build_officer_directory()))
TOPIC = "complaints.events.v1"


def lapsing_complaint(reminders: int = 3) -> list[Event]:
    """The core's events for a complaint that lets every deadline lapse up to the state
    level, then stays overdue there for `reminders` reminders."""
    events: list[Event] = []
    decision = decide(None, ComplaintRegistered(
        event_id="r", complaint_id="HP-9", occurred_at=T0, channel="portal",
        category="drinking_water_supply", district="Mandi", block="Gohar", text="पानी",
        citizen_ref="ref"), CTX)
    state: ComplaintState | None = decision.state
    events.extend(decision.events)
    n = 0
    while state is not None and state.reminders < reminders:
        wake = state.next_reminder_at if state.overdue_at_state else state.due_at
        n += 1
        decision = decide(state, ClockTick(event_id=f"t{n}", complaint_id="HP-9",
                                           occurred_at=wake), CTX)
        state = decision.state
        events.extend(decision.events)
    return events


def batch_of(events: list[Event], start_offset: int = 0) -> Batch:
    batch = Batch()
    for i, event in enumerate(events):
        batch.add(Record(TOPIC, 0, start_offset + i, event.to_json()), "events")
    assert not batch.unreadable
    return batch


def rows(batch: Batch) -> dict[str, dict]:
    return {key: dict(zip(LAPSE_COLUMNS, row, strict=True))
            for key, row in batch.lapses.items()}


def upsert(table: dict[str, tuple], batch: Batch) -> None:
    """What the sink's lapse statement does in Postgres: insert, or replace the figures
    when the new record is further past due."""
    overdue = LAPSE_COLUMNS.index("overdue_seconds")
    for key, row in batch.lapses.items():
        kept = table.get(key)
        if kept is None:
            table[key] = row
        elif kept[overdue] < row[overdue]:
            table[key] = tuple(new if name in LAPSE_FIGURES else old
                               for name, old, new in zip(LAPSE_COLUMNS, kept, row,
                                                         strict=True))


def test_lapse_rows_come_from_lapse_records_one_per_lapse():
    events = lapsing_complaint(reminders=3)
    lapses = [e for e in events if isinstance(e, LapseRecorded)]
    table = rows(batch_of(events))
    assert len(lapses) == 6  # levels 1-3, then three reminders of the state-level lapse
    assert [(r["level"], r["kind"]) for r in table.values()] == [
        (1, "deadline_missed"), (2, "deadline_missed"), (3, "deadline_missed"),
        (4, "overdue_at_state")]
    assert set(table) == {e.lapse_id for e in lapses}
    for row in table.values():
        assert row["lapsed_at"] == row["due_at"]  # a limit lapses at its due moment
        assert row["limit_working_days"] == 7


def test_a_state_level_lapse_keeps_the_figures_of_its_latest_reminder():
    events = lapsing_complaint(reminders=3)
    latest = [e for e in events if isinstance(e, LapseRecorded)][-1]
    [row] = [r for r in rows(batch_of(events)).values() if r["level"] == 4]
    assert latest.reminder == 3
    assert row["event_id"] == latest.event_id
    assert row["overdue_seconds"] == latest.overdue_seconds == 2 * 86400
    assert row["held_working_days"] == latest.held_working_days
    assert row["officer_id"] == latest.officer_id and row["assigned_at"] == latest.assigned_at


def test_no_lapse_row_without_a_lapse_record():
    """The sink no longer reads lapses into escalations or reminders: only the core's record
    makes a row (an escalation for a missed deadline alone is just an escalation)."""
    events = [e for e in lapsing_complaint(reminders=2) if not isinstance(e, LapseRecorded)]
    batch = batch_of(events)
    assert any(isinstance(e, ComplaintEscalated) and e.cause == "deadline_missed"
               for e in events)
    assert any(isinstance(e, OverdueAtState) for e in events)
    assert len(batch.escalations) == 3
    assert batch.lapses == {}


def test_lapse_rows_do_not_depend_on_order_batches_or_redelivery():
    events = lapsing_complaint(reminders=5)
    expected = batch_of(events).lapses
    rng = random.Random(1100)
    for _ in range(20):
        shuffled = rng.sample(events, len(events))
        redelivered = shuffled + rng.sample(events, 10)
        assert batch_of(redelivered).lapses == expected
        # the same records split into batches, each written with the upsert
        table: dict[str, tuple] = {}
        cut = sorted(rng.sample(range(1, len(redelivered)), 3))
        for part in zip([0, *cut], [*cut, len(redelivered)], strict=True):
            upsert(table, batch_of(redelivered[part[0]:part[1]]))
        assert table == expected


def test_an_earlier_reminder_arriving_later_leaves_the_row_as_it_is():
    events = lapsing_complaint(reminders=3)
    reminders = [e for e in events if isinstance(e, LapseRecorded) and e.level == 4]
    table: dict[str, tuple] = {}
    upsert(table, batch_of([reminders[-1]]))
    before = dict(table)
    upsert(table, batch_of(reminders[:-1]))
    assert table == before


def test_lapse_figures_are_lapse_columns_and_only_change_with_a_reminder():
    assert set(LAPSE_FIGURES) <= set(LAPSE_COLUMNS)
    assert "lapse_id" not in LAPSE_FIGURES and "overdue_seconds" in LAPSE_FIGURES
    events = lapsing_complaint(reminders=2)
    first, second = [e for e in events if isinstance(e, LapseRecorded) and e.level == 4]
    one, two = (dict(zip(LAPSE_COLUMNS, next(iter(batch_of([e]).lapses.values())),
                         strict=True)) for e in (first, second))
    changed = {name for name in LAPSE_COLUMNS if one[name] != two[name]}
    assert changed <= set(LAPSE_FIGURES)
    assert second.occurred_at - first.occurred_at == timedelta(days=1)


def test_the_sink_upserts_lapses_by_their_lapse_id():
    from sinks.postgres_sink import STATEMENTS

    statement = STATEMENTS["lapse"]
    assert "ON CONFLICT (lapse_id) DO UPDATE" in statement
    assert "lapse.overdue_seconds < EXCLUDED.overdue_seconds" in statement
    for name in LAPSE_FIGURES:
        assert f"{name} = EXCLUDED.{name}" in statement


def test_lapse_records_match_their_published_schema_and_round_trip():
    schema = json.loads((contract.SCHEMA_DIR / contract.schema_file_name(LapseRecorded))
                        .read_text())
    for lapse in (e for e in lapsing_complaint(reminders=2) if isinstance(e, LapseRecorded)):
        jsonschema.validate(json.loads(lapse.to_json()), schema)
        assert decode(lapse.to_json()) == lapse


def test_a_lapse_record_refuses_figures_that_cannot_be():
    lapse = next(e for e in lapsing_complaint(reminders=1) if isinstance(e, LapseRecorded))
    wire = lapse.to_dict()
    for bad in ({"overdue_seconds": -1}, {"held_working_days": -2},
                {"kind": "overdue_at_state"},  # a state-level record has its reminder
                {"kind": "deadline_missed", "reminder": 2}):
        with pytest.raises(InvalidEvent):
            LapseRecorded.from_dict({**wire, **bad})
