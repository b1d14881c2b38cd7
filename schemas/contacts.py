"""Citizen contact details for call-backs: the only place personal data travels."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.records import Record


@dataclass(frozen=True)
class CitizenContact(Record):
    EVENT_TYPE = "citizen.contact"
    DESCRIPTION = (
        "Private. How to call the citizen back about one complaint; read by the helpline's "
        "call-back desk and the private part of the database, never by reporting."
    )
    PERSONAL_FIELDS = frozenset({"citizen_phone", "citizen_name"})
    complaint_id: str
    citizen_ref: str
    citizen_phone: str
    citizen_name: str
