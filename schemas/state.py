"""The current state of a complaint, as published on the compacted state topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.events import Channel, Event, Status


@dataclass(frozen=True)
class ComplaintStateSnapshot(Event):
    EVENT_TYPE = "complaint.state"
    DESCRIPTION = (
        "The complaint as it stands after its latest change (a fold over its events). "
        "Compacted by complaint_id; `version` grows with every change, so a sink keeps the "
        "newest and ignores a late, older copy."
    )
    status: Status
    channel: Channel
    category: str
    department: str
    district: str
    tehsil: str
    block: str
    level: int
    officer_id: str
    registered_at: datetime
    assigned_at: datetime
    due_at: datetime
    escalations: int
    transfers: int
    reopenings: int
    overdue_at_state: bool
    closed_at: datetime | None
    close_reason: str | None
    version: int
