"""An Open311 request -> ComplaintSubmitted (api/intake.py): the pipeline's own rules, the
HTTP layer's additions (body formats, unknown fields, unclean text, size), and the ids that
make a retried POST the same complaint."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from api.intake import (
    FORM,
    JSON,
    RequestRefused,
    complaint_ids,
    parse_body,
    request_key,
    submission,
)
from core.intake import CallerHistory, IntakeRules, decide_submission

NOW = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
HINDI = "गाँव में पानी नहीं आ रहा; pipe टूटा है\nकृपया जल्दी ठीक करें 🙏"
GOOD = {"service_code": "drinking_water_supply", "description": HINDI, "phone": "9816012345",
        "first_name": "राम", "last_name": "Lal",
        "attribute": {"district": "Shimla", "block": "Theog"}}


def accept(fields=None, key=None, client="portal-web", **changes):
    fields = {**GOOD, **(fields or {})}
    return submission(parse_body(JSON, json.dumps(fields).encode()), client=client,
                      channel="portal", key=key, now=NOW, max_payload_bytes=65536, **changes)


def refused(status=400, **kwargs):
    with pytest.raises(RequestRefused) as caught:
        accept(**kwargs)
    assert caught.value.status == status
    return str(caught.value)


def test_a_valid_request_becomes_the_submission_with_the_text_byte_for_byte():
    accepted = accept()
    s = accepted.submitted
    assert (s.channel, s.category, s.district, s.block) == (
        "portal", "drinking_water_supply", "Shimla", "Theog")
    assert s.text == HINDI and s.citizen_name == "राम Lal" and s.citizen_phone == "9816012345"
    wire = json.loads(accepted.payload)
    assert wire["text"] == HINDI and wire["complaint_id"] == s.complaint_id
    for line in HINDI.splitlines():  # UTF-8 on the wire, not \u escapes
        assert line.encode() in accepted.payload


def test_the_open311_form_encoding_gives_the_same_submission():
    form = urlencode({"api_key": "k", "service_code": "drinking_water_supply",
                      "attribute[district]": "Shimla", "attribute[block]": "Theog",
                      "description": HINDI, "phone": "9816012345", "first_name": "राम",
                      "last_name": "Lal"}).encode()
    fields = parse_body(FORM, form)
    assert fields.pop("api_key") == "k"
    s = submission(fields, client="c", channel="portal", key="r-1", now=NOW,
                   max_payload_bytes=65536).submitted
    assert s == accept(key="r-1", client="c").submitted


@pytest.mark.parametrize(("fields", "reason"), [
    ({"service_code": "teleportation"}, "unknown complaint category 'teleportation'"),
    ({"attribute": {"district": "Gotham", "block": "Theog"}}, "unknown district 'Gotham'"),
    ({"attribute": {"district": "Shimla", "block": "Nurpur"}},
     "unknown block 'Nurpur' in district Shimla"),
    ({"phone": "12345"}, "phone: must be a 10-digit Indian mobile number"),
    ({"description": "   "}, "description: must not be empty"),
    ({"description": 7}, "description: must be a string"),
    ({"attribute": {"district": "Shimla"}}, "missing field(s): attribute[block]"),
])
def test_the_pipelines_rules_refuse_with_their_reason(fields, reason):
    assert reason in refused(fields=fields)


def test_unknown_fields_and_attributes_are_refused_by_name():
    assert "unknown field(s): lat, officer_id" in refused(fields={"lat": "31.1",
                                                                 "officer_id": "OFF-X"})
    assert "unknown attribute(s): tehsil" in refused(
        fields={"attribute": {"district": "Shimla", "block": "Theog", "tehsil": "Theog"}})


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("description", "water\x00; DROP TABLE complaint_current", "control characters"),
    ("first_name", "Ram\nLal", "control characters"),
    ("description", "\ud800 broken", "not valid Unicode"),
    ("first_name", "x" * 101, "longer than 100"),
])
def test_unclean_text_is_refused(name, value, reason):
    assert reason in refused(fields={name: value})


def test_injection_looking_text_is_just_text():
    text = "'; DROP TABLE complaint_current; -- <script>alert(1)</script> ../../etc/passwd"
    assert accept(fields={"description": text}).submitted.text == text


@pytest.mark.parametrize(("content_type", "body", "status", "reason"), [
    (JSON, b"{not json", 400, "not valid UTF-8 JSON"),
    (JSON, b"[1, 2]", 400, "must be a JSON object"),
    (JSON, b"[" * 16000, 400, "nested too deeply"),
    (JSON, b"\xff\xfe", 400, "not valid UTF-8"),
    (FORM, b"a=%FF", 400, "not valid UTF-8"),
    (FORM, b"a=1&a=2", 400, "given twice"),
    (JSON, b'{"attribute": [1]}', 400, "attribute: must be an object"),
    ("text/plain", b"hello", 415, "is not accepted"),
    ("application/octet-stream", b"", 415, "is not accepted"),
])
def test_bodies_that_cannot_be_read(content_type, body, status, reason):
    with pytest.raises(RequestRefused) as caught:
        parse_body(content_type, body)
    assert caught.value.status == status and reason in str(caught.value)


def test_an_oversized_complaint_is_refused_before_kafka():
    with pytest.raises(RequestRefused) as caught:
        submission(parse_body(JSON, json.dumps(GOOD).encode()), client="c", channel="portal",
                   key=None, now=NOW, max_payload_bytes=300)
    assert caught.value.status == 413


def test_the_same_key_gives_the_same_ids_and_other_clients_or_keys_others():
    first, again = complaint_ids("portal-web", "req-1"), complaint_ids("portal-web", "req-1")
    assert first == again
    assert complaint_ids("whatsapp-bot", "req-1")[0] != first[0]
    assert complaint_ids("portal-web", "req-2")[0] != first[0]
    assert complaint_ids("c", None) != complaint_ids("c", None)
    assert first[0].startswith("HP-") and len(first[0]) == 23


def test_a_retried_post_is_decided_once_by_the_intake_rules():
    """What the pipeline does with a retry (core.intake): the same event id from the same
    caller is a repeat, re-sent but never decided again, and it counts once."""
    first = accept(key="req-9").submitted
    retry = submission(parse_body(JSON, json.dumps(GOOD).encode()), client="portal-web",
                       channel="portal", key="req-9", now=NOW.replace(minute=45),
                       max_payload_bytes=65536).submitted
    assert (retry.complaint_id, retry.event_id) == (first.complaint_id, first.event_id)
    decided = decide_submission(CallerHistory(), first, IntakeRules())
    repeated = decide_submission(decided.history, retry, IntakeRules())
    assert repeated.repeated and repeated.history == decided.history
    assert repeated.submission.outcome == "registered"


def test_the_request_key_comes_from_the_header_or_the_body_never_both_different():
    assert request_key("abc", {}) == "abc"
    assert request_key(None, {"channel_request_id": "w-77"}) == "w-77"
    assert request_key("w-77", {"channel_request_id": "w-77"}) == "w-77"
    assert request_key(None, {}) is None
    for header, body in (("a", {"channel_request_id": "b"}), ("x" * 129, {}),
                         ("with space", {})):
        with pytest.raises(RequestRefused):
            request_key(header, body)
