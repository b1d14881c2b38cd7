"""What the pipeline could not accept, with the reason and the original bytes."""

from __future__ import annotations

import base64
import json
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
    # `key` (and the letter's Kafka key): the complaint id when one can be read from the
    # original, else the original message's key. The original's position (source_*) finds
    # it again with its own key.
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


def complaint_id_in(raw: bytes) -> str | None:
    """The complaint id of a payload, if one can be read (a JSON object with a non-empty
    string `complaint_id`), however invalid the rest: a dead letter is keyed by it wherever
    the refusal happened, e.g. on the caller-keyed intake topic."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    found = data.get("complaint_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None
