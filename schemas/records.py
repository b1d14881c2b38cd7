"""The machinery behind the event records: JSON encoding, validation and JSON Schema.

A record is a frozen dataclass whose fields are plain types (str, int, float, bool,
datetime, Literal, tuples of those, or None-able versions). From that one declaration come
`to_dict`, `from_dict` (which rejects bad input with a reason that names the field) and the
JSON Schema published under `schemas/json/` — so the contract cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, get_args, get_origin, get_type_hints


class InvalidEvent(ValueError):
    """The payload is not a valid event; the message is the reason sent to the dead letters."""


def payload_too_large(size: int, limit: int) -> str | None:
    """The dead letter's reason for a payload over `limit` bytes (None if it is within)."""
    if size <= limit:
        return None
    return (f"payload of {size:,} bytes is over the {limit:,}-byte limit "
            f"(SANKALP_MAX_PAYLOAD_BYTES); the dead letter keeps its first {limit:,} bytes")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # get_type_hints re-evaluates every annotation; once per record class is enough.
    return get_type_hints(cls)


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(raw: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise InvalidEvent(f"{field}: not an ISO-8601 timestamp: {raw!r}") from None
    if moment.tzinfo is None:
        raise InvalidEvent(f"{field}: timestamp needs a time zone (use UTC, e.g. ...Z)")
    return moment.astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of every event record. Subclasses set EVENT_TYPE, SCHEMA_VERSION and TITLE."""

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = ""
    # field name -> description, published in the JSON Schema
    FIELD_DOCS: ClassVar[dict[str, str]] = {}
    # fields holding personal data; never in logs, metrics or public topics
    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset()

    # --- encoding ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_type": self.EVENT_TYPE,
            "schema_version": self.SCHEMA_VERSION,
        }
        for f in _fields(type(self)):
            out[f.name] = _encode(getattr(self, f.name))
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: Any) -> Record:
        if not isinstance(data, dict):
            raise InvalidEvent(f"{cls.EVENT_TYPE}: payload must be a JSON object")
        if data.get("event_type") != cls.EVENT_TYPE:
            raise InvalidEvent(f"event_type must be {cls.EVENT_TYPE!r}")
        if data.get("schema_version") != cls.SCHEMA_VERSION:
            raise InvalidEvent(
                f"{cls.EVENT_TYPE}: schema_version {data.get('schema_version')!r} is not "
                f"supported (this reader knows version {cls.SCHEMA_VERSION})"
            )
        plan, known = _decode_plan(cls)
        values: dict[str, Any] = {}
        for name, required, convert in plan:
            if name in data:
                values[name] = convert(data[name])
            elif required:
                raise InvalidEvent(f"{cls.EVENT_TYPE}: missing field {name!r}")
        if len(data) > len(values) + 2 and not known.issuperset(data):
            unknown = sorted(set(data) - known)
            raise InvalidEvent(f"{cls.EVENT_TYPE}: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**values)
        except InvalidEvent:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(f"{cls.EVENT_TYPE}: {exc}") from None

    # --- contract --------------------------------------------------------------------
    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        hints = get_type_hints(cls)
        properties: dict[str, Any] = {
            "event_type": {"const": cls.EVENT_TYPE},
            "schema_version": {"const": cls.SCHEMA_VERSION},
        }
        required = ["event_type", "schema_version"]
        for f in dataclasses.fields(cls):
            prop = _schema_for(hints[f.name])
            doc = cls.FIELD_DOCS.get(f.name)
            if doc:
                prop = {**prop, "description": doc}
            if f.name in cls.PERSONAL_FIELDS:
                prop = {**prop, "x-personal-data": True}
            properties[f.name] = prop
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://sankalp.example/schemas/{cls.EVENT_TYPE}.v{cls.SCHEMA_VERSION}.json",
            "title": f"{cls.EVENT_TYPE} v{cls.SCHEMA_VERSION}",
            "description": cls.DESCRIPTION,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _is_optional(hint: Any) -> tuple[bool, Any]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return True, args[0]
    return False, hint


Converter = typing.Callable[[Any], Any]


@functools.cache
def _decode_plan(cls: type) -> tuple[tuple[tuple[str, bool, Converter], ...], frozenset[str]]:
    """Per record class, once: (field, required, converter) for each field, and every
    name a payload may carry. Decoding an event then walks this plan instead of inspecting
    the type hints again (it is on every event's path)."""
    hints = _hints(cls)
    plan = tuple(
        (f.name,
         f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
         _converter(hints[f.name], f.name))
        for f in _fields(cls))
    return plan, frozenset({"event_type", "schema_version", *(f.name for f in _fields(cls))})


def _converter(hint: Any, name: str) -> Converter:
    """A function that checks one JSON value against `hint` and returns the field's value;
    InvalidEvent, naming the field, when it does not fit."""
    optional, inner = _is_optional(hint)
    convert = _inner_converter(inner, name)

    def checked(value: Any) -> Any:
        if value is None:
            if optional:
                return None
            raise InvalidEvent(f"{name}: must not be null")
        return convert(value)

    return checked


def _inner_converter(inner: Any, name: str) -> Converter:
    origin = get_origin(inner)
    if origin is Literal:
        allowed = frozenset(get_args(inner))
        listed = ", ".join(map(str, get_args(inner)))

        def literal(value: Any) -> Any:
            if value.__hash__ is None or value not in allowed:
                raise InvalidEvent(f"{name}: {value!r} is not one of {listed}")
            return value
        return literal
    if origin is tuple:
        item = _converter(get_args(inner)[0], f"{name}[]")

        def items(value: Any) -> Any:
            if not isinstance(value, list):
                raise InvalidEvent(f"{name}: must be a list")
            return tuple(item(v) for v in value)
        return items
    if inner is datetime:
        def moment(value: Any) -> Any:
            if not isinstance(value, str):
                raise InvalidEvent(f"{name}: must be an ISO-8601 string")
            return parse_utc(value, name)
        return moment
    if inner is bool:
        def boolean(value: Any) -> Any:
            if not isinstance(value, bool):
                raise InvalidEvent(f"{name}: must be true or false")
            return value
        return boolean
    if inner is int:
        def integer(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidEvent(f"{name}: must be an integer")
            return value
        return integer
    if inner is float:
        def number(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidEvent(f"{name}: must be a number")
            return float(value)
        return number
    if inner is str:
        def string(value: Any) -> Any:
            if not isinstance(value, str):
                raise InvalidEvent(f"{name}: must be a string")
            return value
        return string
    raise TypeError(f"unsupported field type {inner!r} for {name}")


def _schema_for(hint: Any) -> dict[str, Any]:
    optional, inner = _is_optional(hint)
    origin = get_origin(inner)
    if origin is Literal:
        base: dict[str, Any] = {"enum": list(get_args(inner))}
    elif origin is tuple:
        base = {"type": "array", "items": _schema_for(get_args(inner)[0])}
    elif inner is datetime:
        base = {"type": "string", "format": "date-time"}
    elif inner is bool:
        base = {"type": "boolean"}
    elif inner is int:
        base = {"type": "integer"}
    elif inner is float:
        base = {"type": "number"}
    elif inner is str:
        base = {"type": "string"}
    else:
        raise TypeError(f"unsupported field type {inner!r}")
    if optional:
        return {"anyOf": [base, {"type": "null"}]}
    return base
