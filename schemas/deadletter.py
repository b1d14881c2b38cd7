"""What the pipeline could not accept, with the reason and the original bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from schemas.records import Record


@dataclass(frozen=True)
class DeadLetter(Record):
    EVENT_TYPE = "dead_letter"
    DESCRIPTION = (
        "An input that could not be accepted. Restricted: the original bytes may hold "
        "personal data, so this topic is readable by operators only."
    )
    PERSONAL_FIELDS = frozenset({"original_base64"})
    event_id: str
    source_topic: str
    source_partition: int
    source_offset: int
    key: str | None
    reason: str
    original_base64: str
    received_at: datetime

    @classmethod
    def of(cls, *, event_id: str, topic: str, partition: int, offset: int,
           key: bytes | None, raw: bytes, reason: str, received_at: datetime) -> DeadLetter:
        return cls(
            event_id=event_id,
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            key=key.decode(errors="replace") if key is not None else None,
            reason=reason,
            original_base64=base64.b64encode(raw).decode(),
            received_at=received_at,
        )

    def original(self) -> bytes:
        return base64.b64decode(self.original_base64)
