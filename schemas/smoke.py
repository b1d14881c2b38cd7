"""The smoke pipeline's two payloads and its one rule (pure; no Kafka import)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

# A handful of real Himachal departments, enough for the smoke pipeline to route something.
SAMPLE_CATEGORY_DEPARTMENTS = {
    "drinking_water": "Jal Shakti",
    "electricity_supply": "HP State Electricity Board",
    "road_repair": "Public Works",
    "revenue_records": "Revenue",
    "old_age_pension": "Social Justice & Empowerment",
}


@dataclass(frozen=True)
class SmokeComplaint:
    event_id: str
    complaint_id: str
    category: str
    district: str
    text: str

    @classmethod
    def from_json(cls, raw: bytes) -> SmokeComplaint:
        data = json.loads(raw)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SmokeAssignment:
    event_id: str
    complaint_id: str
    department: str
    district: str
    level: int
    times_applied: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def route_sample(complaint: SmokeComplaint, times_applied: int) -> SmokeAssignment:
    department = SAMPLE_CATEGORY_DEPARTMENTS.get(complaint.category, "Revenue")
    return SmokeAssignment(
        # Derived, not random: a redelivered input yields the very same output event.
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"smoke-assign/{complaint.event_id}")),
        complaint_id=complaint.complaint_id,
        department=department,
        district=complaint.district,
        level=1,
        times_applied=times_applied,
        text=complaint.text,
    )
