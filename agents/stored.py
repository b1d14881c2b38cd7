"""How the worker's tables keep their values: compact bytes, stored as they are.

A complaint, in the `complaints` table, is one value per key:

    b"1|" + next wake-up (ISO time, empty when none) + b"|" + JSON {"state", "outbox"}

One value holds the state, the outbox (see agents/lifecycle.py `remember`) and the next
wake-up, so a command costs one table write (one changelog record), and the deadline timer
rebuilds its index after a rebalance from the wake-up prefix alone, without decoding any
state. Values are bytes the table stores as they are (raw serializer): Faust's JSON codec
would encode the dict again on every write.

A value written before this format (a JSON object `{"state": ..., "outbox": ...}`, when the
wake-up lived in a separate `deadlines` table) is still read: its wake-up is computed from
its state.

A caller's intake history, in the `callers` table, is its JSON object (`encode_caller`);
it was the same JSON written by Faust's codec before, so both read alike.

Pure: no Faust import (the bench writes changelogs in this format, bench/pendency.py).
"""

from __future__ import annotations

import json
from datetime import datetime

from core.intake import CallerHistory
from core.lifecycle import ComplaintState, next_wakeup
from core.policy import LifecyclePolicy

FORMAT = b"1"
_SEPARATOR = b"|"
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(state: ComplaintState, outbox: list[dict], wake: datetime | None) -> bytes:
    body = _compact({"state": state.to_dict(), "outbox": outbox}).encode()
    return b"".join((FORMAT, _SEPARATOR, wake.isoformat().encode() if wake else b"",
                     _SEPARATOR, body))


def decode(raw: bytes) -> tuple[ComplaintState, list[dict]]:
    """The state and outbox of a stored value."""
    body = raw.split(_SEPARATOR, 2)[2] if raw[:2] == FORMAT + _SEPARATOR else raw
    data = json.loads(body)
    return ComplaintState.from_dict(data["state"]), data["outbox"]


def wake_of(raw: bytes, policy: LifecyclePolicy) -> datetime | None:
    """The next wake-up of a stored value, read from its prefix (a value in the earlier
    format is decoded and asked)."""
    if raw[:2] == FORMAT + _SEPARATOR:
        end = raw.index(_SEPARATOR, 2)
        return datetime.fromisoformat(raw[2:end].decode()) if end > 2 else None
    state, _ = decode(raw)
    return next_wakeup(state, policy)


def encode_caller(history: CallerHistory) -> bytes:
    return _compact(history.to_dict()).encode()


def decode_caller(raw: bytes | None) -> CallerHistory:
    return CallerHistory.from_dict(json.loads(raw) if raw else None)
