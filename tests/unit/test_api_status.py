"""What callers see (api/status.py): Open311 services and status, officers' queue items.
Nothing personal goes in or out, and an office is a designation and a place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from api.status import (
    duplicate_status,
    office,
    open311_status,
    queue_item,
    service_definition,
    services,
)
from core.reference import CATEGORIES, DISTRICTS

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
ROW = {
    "complaint_id": "HP-ABC", "status": "assigned", "channel": "portal",
    "category": "drinking_water_supply", "department": "JSV", "district": "Shimla",
    "tehsil": "Theog", "block": "Theog", "level": 1, "registered_at": T0,
    "assigned_at": T0, "due_at": T0 + timedelta(days=9), "escalations": 0, "transfers": 0,
    "reopenings": 0, "overdue_at_state": False, "closed_at": None, "close_reason": None,
    "updated_at": T0,
}


def test_every_category_is_a_service_with_its_hindi_name_department_and_limit():
    listed = {s["service_code"]: s for s in services()}
    assert set(listed) == {c.code for c in CATEGORIES}
    water = listed["drinking_water_supply"]
    assert water["service_name_hi"] == "पेयजल आपूर्ति" and water["department"] == "JSV"
    assert water["sla_working_days"] == 7 and water["metadata"] is True


def test_a_service_definition_lists_the_districts_and_their_blocks():
    definition = service_definition("road_repair")
    district, block = definition["attributes"]
    assert [v["key"] for v in district["values"]] == [d.name for d in DISTRICTS]
    assert {"key": "Theog", "name": "Theog (Shimla)", "district": "Shimla"} in block["values"]
    with pytest.raises(ValueError):
        service_definition("teleportation")


def test_an_open_complaint_shows_its_level_office_and_due_time():
    status = open311_status(ROW, T0 + timedelta(hours=1))
    assert status["status"] == "open" and status["expected_datetime"] == "2026-03-11T04:30:00Z"
    ext = status["extended_attributes"]
    assert ext["level"] == 1 and ext["level_name"] == "block"
    assert ext["office"] == "Junior Engineer, Theog block, Shimla district"
    assert "due 11 Mar 2026 10:00 IST" in status["status_notes"]
    assert not ext["overdue"]
    late = open311_status(ROW, T0 + timedelta(days=10))
    assert late["extended_attributes"]["overdue"] and "(overdue)" in late["status_notes"]


def test_a_closed_complaint_is_closed_with_no_due_time():
    closed = open311_status({**ROW, "status": "closed", "closed_at": T0,
                             "close_reason": "citizen_satisfied"}, T0)
    assert closed["status"] == "closed" and closed["expected_datetime"] is None
    assert open311_status({**ROW, "status": "special_closed"}, T0)["status"] == "closed"
    for status in ("resolution_proposed", "awaiting_citizen", "special_close_proposed"):
        assert open311_status({**ROW, "status": status}, T0)["status"] == "open"


def test_status_never_names_an_officer_or_a_citizen():
    shown = json.dumps([open311_status({**ROW, "officer_id": "OFF-JSV-L1-SHIMLA-THEOG"}, T0),
                        duplicate_status("HP-2", "HP-1")], ensure_ascii=False)
    for private in ("OFF-", "citizen", "phone", "9816"):
        assert private not in shown


@pytest.mark.parametrize(("level", "expected"), [
    (2, "Assistant Engineer, Theog tehsil, Shimla district"),
    (3, "Executive Engineer, Shimla district"),
    (4, "Engineer-in-Chief, Himachal Pradesh (state level)"),
])
def test_offices_up_the_ladder(level, expected):
    assert office("JSV", level, "Shimla", "Theog", "Theog") == expected


def test_a_queue_item_says_how_much_of_the_limit_is_gone():
    def sla(now, **changes):
        item = queue_item({**ROW, "warned": None, **changes}, now, warn_at=0.5)
        return item["sla"], item["elapsed_fraction"]

    assert sla(T0 + timedelta(days=1)) == ("on_track", 0.111)
    assert sla(T0 + timedelta(days=5))[0] == "warning"
    assert sla(T0 + timedelta(days=1), warned=0.5)[0] == "warning"
    assert sla(T0 + timedelta(days=10))[0] == "overdue"
    assert sla(T0 + timedelta(days=10), status="resolution_proposed")[0] == "paused"
