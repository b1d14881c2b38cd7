"""Postgres rows -> what callers see: Open311 services and request status, officers' queue
items. Pure functions; no personal data goes in (the rows hold none) and no officer's
personal details come out: an office is a designation and a place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.calendar import IST
from core.reference import CATEGORIES, DISTRICTS, category, department, designation
from core.routing import LEVEL_NAMES, STATE_LEVEL
from schemas.records import utc_iso

CLOSED = ("closed", "special_closed")
CLOCK_STOPPED = ("resolution_proposed", "awaiting_citizen")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)


def _ist(moment: datetime) -> str:
    return f"{moment.astimezone(IST):%d %b %Y %H:%M} IST"


# --- services ------------------------------------------------------------------------------


def services() -> list[dict[str, Any]]:
    """Every complaint category as an Open311 service; extensions after the standard keys."""
    out = []
    for cat in CATEGORIES:
        dept = department(cat.department_code)
        out.append({
            "service_code": cat.code,
            "service_name": cat.name_en,
            "description": f"{cat.name_en} ({cat.name_hi}): {dept.name}; to be resolved "
                           f"within {cat.sla_working_days} working days",
            "metadata": True,  # district and block are required attributes
            "type": "realtime",
            "keywords": cat.priority,
            "group": dept.name,
            "service_name_hi": cat.name_hi,
            "department": dept.code,
            "department_name": dept.name,
            "sla_working_days": cat.sla_working_days,
            "priority": cat.priority,
        })
    return out


def service_definition(code: str) -> dict[str, Any]:
    """The attributes a request for this service needs; ValueError for an unknown code."""
    cat = category(code)
    return {
        "service_code": cat.code,
        "attributes": [
            {"variable": True, "code": "district", "datatype": "singlevaluelist",
             "required": True, "datatype_description": "one of the districts below",
             "order": 1, "description": "District (जिला)",
             "values": [{"key": d.name, "name": d.name} for d in DISTRICTS]},
            {"variable": True, "code": "block", "datatype": "singlevaluelist",
             "required": True,
             "datatype_description": "a development block of the chosen district",
             "order": 2, "description": "Development block (विकास खंड)",
             "values": [{"key": b.name, "name": f"{b.name} ({d.name})", "district": d.name}
                        for d in DISTRICTS for b in d.blocks]},
        ],
    }


# --- a complaint's status ------------------------------------------------------------------


def office(department_code: str, level: int, district: str, tehsil: str, block: str) -> str:
    """The office a complaint lies with: a designation and a place, never a person."""
    title = designation(department_code, level)
    unit = {1: f"{block} block, {district} district", 2: f"{tehsil} tehsil, {district} district",
            3: f"{district} district"}.get(level, "Himachal Pradesh (state level)")
    return f"{title}, {unit}"


def _notes(row: dict[str, Any], where: str, now: datetime) -> str:
    status = row["status"]
    if status == "assigned":
        late = " (overdue)" if row["due_at"] < now else ""
        return f"With the {where}; due {_ist(row['due_at'])}{late}"
    return {
        "special_close_proposed": f"The {where} proposed closing it without a resolution; "
                                  "the officer one level up decides",
        "resolution_proposed": f"The {where} reported action; the helpline will call the "
                               "citizen to confirm",
        "awaiting_citizen": "The helpline could not reach the citizen to confirm the "
                            "resolution; call 1100",
        "closed": "Closed: the citizen confirmed the problem is solved",
        "special_closed": "Closed by a special close approved one level up (on record)",
    }.get(status, status)


def open311_status(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A complaint_current row as an Open311 service request."""
    cat = category(row["category"])
    dept = department(row["department"])
    level = row["level"]
    where = office(dept.code, level, row["district"], row["tehsil"], row["block"])
    is_open = row["status"] not in CLOSED
    return {
        "service_request_id": row["complaint_id"],
        "status": "open" if is_open else "closed",
        "status_notes": _notes(row, where, now),
        "service_name": cat.name_en,
        "service_code": cat.code,
        "agency_responsible": dept.name,
        "service_notice": f"to be resolved within {cat.sla_working_days} working days at "
                          "each level; escalated Block -> Tehsil -> District -> State if not",
        "requested_datetime": _iso(row["registered_at"]),
        "updated_datetime": _iso(row["updated_at"]),
        "expected_datetime": _iso(row["due_at"]) if is_open else None,
        "address": f"{row['block']} block, {row['district']} district",
        "extended_attributes": {
            "pipeline_status": row["status"],
            "level": level,
            "level_name": LEVEL_NAMES.get(level, str(level)),
            "levels": STATE_LEVEL,
            "office": where,
            "department": dept.code,
            "service_name_hi": cat.name_hi,
            "district": row["district"],
            "tehsil": row["tehsil"],
            "block": row["block"],
            "channel": row["channel"],
            "due_at": _iso(row["due_at"]),
            "overdue": is_open and row["status"] not in CLOCK_STOPPED and row["due_at"] < now,
            "overdue_at_state": row["overdue_at_state"],
            "escalations": row["escalations"],
            "transfers": row["transfers"],
            "reopenings": row["reopenings"],
            "closed_at": _iso(row["closed_at"]),
            "close_reason": row["close_reason"],
        },
    }


def duplicate_status(complaint_id: str, original: str) -> dict[str, Any]:
    """A submission the pipeline linked to the same caller's earlier complaint."""
    return {
        "service_request_id": complaint_id,
        "status": "closed",
        "status_notes": f"Linked to the earlier complaint {original} of the same caller "
                        "about the same problem; follow that one",
        "extended_attributes": {"pipeline_status": "duplicate_linked",
                                "duplicate_of": original},
    }


# --- an officer's queue --------------------------------------------------------------------


def sla_state(row: dict[str, Any], now: datetime, warn_at: float) -> tuple[float, str]:
    """(share of the time limit gone, and `on_track`, `warning`, `overdue` or `paused`)."""
    span = (row["due_at"] - row["assigned_at"]).total_seconds()
    gone = (now - row["assigned_at"]).total_seconds()
    elapsed = max(0.0, gone / span) if span > 0 else 1.0
    if row["status"] in CLOCK_STOPPED:
        return elapsed, "paused"
    if now >= row["due_at"]:
        return elapsed, "overdue"
    if elapsed >= warn_at or (row.get("warned") or 0) > 0:
        return elapsed, "warning"
    return elapsed, "on_track"


def queue_item(row: dict[str, Any], now: datetime, warn_at: float) -> dict[str, Any]:
    cat = category(row["category"])
    elapsed, sla = sla_state(row, now, warn_at)
    return {
        "complaint_id": row["complaint_id"],
        "status": row["status"],
        "service_code": cat.code,
        "service_name": cat.name_en,
        "service_name_hi": cat.name_hi,
        "district": row["district"],
        "tehsil": row["tehsil"],
        "block": row["block"],
        "level": row["level"],
        "registered_at": _iso(row["registered_at"]),
        "assigned_at": _iso(row["assigned_at"]),
        "due_at": _iso(row["due_at"]),
        "updated_at": _iso(row["updated_at"]),
        "sla": sla,
        "elapsed_fraction": round(elapsed, 3),
        "warning_sent": row.get("warned"),
        "escalations": row["escalations"],
        "transfers": row["transfers"],
        "reopenings": row["reopenings"],
        "overdue_at_state": row["overdue_at_state"],
    }


def approval_item(row: dict[str, Any]) -> dict[str, Any]:
    cat = category(row["category"])
    return {
        "complaint_id": row["complaint_id"],
        "service_code": cat.code,
        "service_name": cat.name_en,
        "district": row["district"],
        "block": row["block"],
        "level": row["level"],
        "proposed_by": row["proposed_by"],
        "reason": row["reason"],
        "requested_at": _iso(row["requested_at"]),
        "due_at": _iso(row["due_at"]),
    }
