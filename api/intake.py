"""An Open311 service request -> the pipeline's ComplaintSubmitted, or a clear refusal.

The rules are the pipeline's own, not copies: the record's constructor checks the phone
and the text (schemas/events.py), `core.intake.check_routable` the category, district and
block, exactly as the intake agent will. What the HTTP layer adds is only what HTTP brings:
the body's format, unknown fields, text that is not clean Unicode, the size.

Open311 sends `application/x-www-form-urlencoded` with `attribute[district]=...`; JSON
bodies are accepted too, with `"attribute": {"district": ..., "block": ...}`.

Ids. With an `Idempotency-Key` header (or the extension field `channel_request_id`) the
complaint id and the submission's event id are derived from the client and that key, so a
retried POST, on any replica, gives the same complaint: the intake agent decides an event
id once per caller (core.intake.decide_submission) and the lifecycle applies a registration
id once (core.lifecycle.decide). Without a key each POST is a new complaint.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from core.intake import check_routable
from core.routing import RoutingError
from core.state import derived_id
from schemas.events import ComplaintSubmitted
from schemas.records import InvalidEvent, payload_too_large

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
FIELDS = frozenset({"api_key", "jurisdiction_id", "service_code", "description", "first_name",
                    "last_name", "phone", "attribute", "channel_request_id"})
ATTRIBUTES = frozenset({"district", "block"})
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]*)\]$")
_REQUEST_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
# The record's field names, as the Open311 caller knows them.
_OPEN311_NAMES = {"citizen_phone": "phone", "citizen_name": "first_name/last_name",
                  "text": "description", "category": "service_code"}


class RequestRefused(ValueError):
    """The request cannot be accepted; `status` is the HTTP status, the message the reason."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


def _bad(description: str) -> RequestRefused:
    return RequestRefused(400, description)


def load_json(body: bytes) -> object:
    """The body's JSON, or RequestRefused (400) saying why not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"body is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:  # e.g. thousands of nested brackets
        raise _bad("body is not valid JSON: nested too deeply") from None


def parse_body(content_type: str, body: bytes) -> dict[str, object]:
    """The request's fields (attributes gathered under `attribute`), or RequestRefused."""
    if content_type == JSON:
        data = load_json(body)
        if not isinstance(data, dict):
            raise _bad("body must be a JSON object")
        pairs = list(data.items())
    elif content_type == FORM:
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                              max_num_fields=64, errors="strict")
        except UnicodeDecodeError:
            raise _bad("body is not valid UTF-8 (form fields are percent-encoded UTF-8)"
                       ) from None
        except ValueError as exc:
            raise _bad(f"body is not a valid form: {exc}") from None
    else:
        raise RequestRefused(415, f"content type {content_type or 'none'!r} is not accepted; "
                                  f"send {FORM} (Open311) or {JSON}")
    fields: dict[str, object] = {}
    attributes: dict[str, object] = {}
    for name, value in pairs:
        matched = _ATTRIBUTE.match(name)
        target, key = (attributes, matched.group(1)) if matched else (fields, name)
        if key in target:
            raise _bad(f"field {name!r} is given twice")
        target[key] = value
    if "attribute" in fields:
        if attributes:
            raise _bad("give the attributes either as `attribute` or as `attribute[...]`")
        if not isinstance(fields["attribute"], dict):
            raise _bad("attribute: must be an object of codes to values")
    else:
        fields["attribute"] = attributes
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise _bad(f"unknown field(s): {', '.join(unknown)}; accepted: "
                   f"{', '.join(sorted(FIELDS))}")
    unknown = sorted(set(fields["attribute"]) - ATTRIBUTES)  # type: ignore[arg-type]
    if unknown:
        raise _bad(f"unknown attribute(s): {', '.join(unknown)}; accepted: district, block")
    return fields


def clean_text(name: str, value: object, *, multiline: bool = False,
               max_chars: int = 200) -> str:
    """A caller's string, exactly as given (no normalisation: Hindi and mixed-script text
    travels byte-for-byte), provided it is a string of valid Unicode without control
    characters (line breaks and tabs allowed where `multiline`)."""
    if not isinstance(value, str):
        raise _bad(f"{name}: must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(f"{name}: not valid Unicode (an unpaired surrogate)") from None
    allowed = "\t\n\r" if multiline else ""
    if any((ch < " " and ch not in allowed) or ch == "\x7f" for ch in value):
        raise _bad(f"{name}: control characters are not allowed")
    if not multiline and len(value) > max_chars:
        raise _bad(f"{name}: longer than {max_chars} characters")
    return value


def request_key(header: str | None, fields: dict[str, object]) -> str | None:
    """The caller's idempotency key: the Idempotency-Key header or `channel_request_id`."""
    body = fields.get("channel_request_id")
    body_key = None if body is None else clean_text("channel_request_id", body)
    if header is not None and body_key is not None and header != body_key:
        raise _bad("Idempotency-Key and channel_request_id differ; give one, or the same")
    key = header if header is not None else body_key
    if key is not None and not _REQUEST_KEY.match(key):
        raise _bad("Idempotency-Key: 1 to 128 visible ASCII characters")
    return key


def complaint_ids(client: str, key: str | None) -> tuple[str, str]:
    """(complaint id, submission event id): derived from client and key when there is a
    key, so every replica gives a retry the same ids; random otherwise. 80 bits of id: a
    collision (two complaints taken for one) is not expected in centuries of traffic."""
    if key is None:
        return f"HP-{uuid.uuid4().hex[:20].upper()}", str(uuid.uuid4())
    digest = hashlib.sha256(f"open311/{client}/{key}".encode()).hexdigest()
    return f"HP-{digest[:20].upper()}", derived_id("open311", client, key, "submitted")


def _open311_reason(exc: Exception) -> str:
    reason = str(exc).removeprefix(f"{ComplaintSubmitted.EVENT_TYPE}: ")
    for field, name in _OPEN311_NAMES.items():
        if reason.startswith(f"{field}:"):
            return f"{name}:{reason[len(field) + 1:]}"
    return reason


@dataclass(frozen=True)
class Accepted:
    submitted: ComplaintSubmitted
    payload: bytes  # its wire form, encoded once


def submission(fields: dict[str, object], *, client: str, channel: str, key: str | None,
               now: datetime, max_payload_bytes: int) -> Accepted:
    """The submission a valid request becomes, or RequestRefused with the reason."""
    attributes: dict[str, object] = fields["attribute"]  # type: ignore[assignment]
    missing = [name for name, there in (
        ("service_code", "service_code" in fields), ("description", "description" in fields),
        ("phone", "phone" in fields), ("attribute[district]", "district" in attributes),
        ("attribute[block]", "block" in attributes)) if not there]
    if missing:
        raise _bad(f"missing field(s): {', '.join(missing)}")
    first = clean_text("first_name", fields.get("first_name", ""), max_chars=100)
    last = clean_text("last_name", fields.get("last_name", ""), max_chars=100)
    complaint_id, event_id = complaint_ids(client, key)
    try:
        submitted = ComplaintSubmitted(
            event_id=event_id,
            complaint_id=complaint_id,
            occurred_at=now,
            channel=channel,  # type: ignore[arg-type]
            category=clean_text("service_code", fields["service_code"], max_chars=64),
            district=clean_text("attribute[district]", attributes["district"], max_chars=64),
            block=clean_text("attribute[block]", attributes["block"], max_chars=64),
            text=clean_text("description", fields["description"], multiline=True),
            citizen_phone=clean_text("phone", fields["phone"], max_chars=16),
            citizen_name=" ".join(part for part in (first.strip(), last.strip()) if part),
        )
        check_routable(submitted)
    except (InvalidEvent, RoutingError) as exc:
        raise _bad(_open311_reason(exc)) from None
    payload = submitted.to_json()
    if too_large := payload_too_large(len(payload), max_payload_bytes):
        raise RequestRefused(413, f"the complaint is too large: {too_large.split(';')[0]}")
    return Accepted(submitted, payload)
