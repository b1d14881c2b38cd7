"""The published contract (schemas/json, schemas/asyncapi.json) matches the code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from schemas import contract
from schemas.events import (
    ComplaintEscalated,
    ComplaintSubmitted,
    OfficerActed,
    decode,
)
from schemas.records import InvalidEvent
from streams.topics import LIFECYCLE_TOPICS

NOW = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


def test_checked_in_contract_files_are_current():
    stale = [
        str(path.relative_to(contract.CONTRACT_DIR))
        for path, text in contract.render().items()
        if not path.exists() or path.read_text() != text
    ]
    on_disk = {p.name for p in contract.SCHEMA_DIR.glob("*.json")}
    expected = {p.name for p in contract.render() if p.parent == contract.SCHEMA_DIR}
    assert not stale and on_disk == expected, (
        f"contract out of date: {stale or on_disk ^ expected}; run `sankalp contract write`"
    )


def test_every_topic_has_a_channel_and_every_payload_a_schema():
    doc = contract.asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in LIFECYCLE_TOPICS}
    for topic in LIFECYCLE_TOPICS:
        assert topic.payloads, topic.name
        for record in topic.payloads:
            assert (contract.SCHEMA_DIR / contract.schema_file_name(record)).exists()


def test_public_topics_carry_no_personal_data():
    for topic in LIFECYCLE_TOPICS:
        if topic.audience == "public":
            for record in topic.payloads:
                assert not record.PERSONAL_FIELDS, (topic.name, record.EVENT_TYPE)
                fields = set(record.json_schema()["properties"])
                assert not {f for f in fields if "phone" in f or "name" in f}, fields


def test_emitted_events_validate_against_their_published_schema():
    escalated = ComplaintEscalated(
        event_id="e1", complaint_id="HP-1", occurred_at=NOW, cause="deadline_missed",
        department="JSV", district="Shimla", from_level=1, to_level=2, from_officer="A",
        to_officer="B", lapsed_by="A", due_at=NOW, previous_due_at=NOW, overdue_seconds=3)
    acted = OfficerActed(event_id="e2", complaint_id="HP-1", occurred_at=NOW,
                         officer_id="A", action="acknowledged")
    for event in (escalated, acted):
        schema = json.loads((contract.SCHEMA_DIR / contract.schema_file_name(type(event)))
                            .read_text())
        jsonschema.validate(json.loads(event.to_json()), schema)
        assert decode(event.to_json()) == event


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "payload must be a JSON object"),
        (b'{"event_type": "complaint.teleported"}', "unknown event_type"),
        (b'{"event_type": "officer.acted", "schema_version": 9}', "schema_version 9"),
        (b'{"event_type": "officer.acted", "schema_version": 1, "event_id": "x", '
         b'"complaint_id": "c", "occurred_at": "2026-01-01T00:00:00Z", "officer_id": "o", '
         b'"action": "teleported"}', "action: 'teleported' is not one of"),
        (b'{"event_type": "officer.acted", "schema_version": 1, "event_id": "x", '
         b'"complaint_id": "c", "occurred_at": "2026-01-01T00:00:00", "officer_id": "o", '
         b'"action": "acknowledged"}', "needs a time zone"),
        (b'{"event_type": "officer.acted", "schema_version": 1, "event_id": "x", '
         b'"complaint_id": "c", "occurred_at": "2026-01-01T00:00:00Z", "officer_id": "o", '
         b'"action": "transfer_requested"}', "needs a reason"),
    ],
)
def test_invalid_payloads_are_rejected_with_a_reason(payload, reason):
    with pytest.raises(InvalidEvent, match=reason):
        decode(payload)


def test_submission_validates_phone_and_keeps_text_byte_for_byte():
    text = "सड़क पर गड्ढे हैं, bus नहीं आती"
    base = dict(event_id="s1", complaint_id="HP-2", occurred_at=NOW, channel="phone_1100",
                category="road_repair", district="Kullu", block="Banjar", text=text,
                citizen_phone="9876543210", citizen_name="नाम")
    submitted = ComplaintSubmitted(**base)
    assert decode(submitted.to_json()).text == text
    with pytest.raises(InvalidEvent, match="10-digit"):
        ComplaintSubmitted(**{**base, "citizen_phone": "12345"})
