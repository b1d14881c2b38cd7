"""The officer directory as it flows through its compacted topic: one record per post."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.records import Record


@dataclass(frozen=True)
class OfficerPost(Record):
    EVENT_TYPE = "officer.post"
    DESCRIPTION = (
        "Who holds a post (department x level x place). Keyed by post_id and compacted: the "
        "latest record is the current holder, so a transfer takes effect without a restart."
    )
    post_id: str
    department: str
    level: int
    district: str | None
    tehsil: str | None
    block: str | None
    officer_id: str
    designation: str
