"""How the worker's tables keep their values: compact bytes, stored as they are.

A complaint, in the `complaints` table, is one value per key:

    b"1|" + next wake-up (ISO time, empty when none) + b"|" + JSON {"state", "outbox"}

One value holds the state, the outbox (see agents/lifecycle.py `remember`) and the next
wake-up, so a command costs one table write (one changelog record), and the deadline timer
rebuilds its index after a rebalance from the wake-up prefix alone, without decoding any
state. Values are bytes the table stores as they are (raw serializer): Faust's JSON codec
would encode the dict again on every write.

A complaint not registered yet may hold commands that overtook its registration
(core/pending.py): its value has no "state" but "held", `{"partition": p, "commands":
[{"offset": o, "raw": command JSON}, ...]}`, in arrival order, and its wake-up is the
earliest expiry. The partition is kept so a rebalance can count what each partition holds.
The registration replaces it with the state (its outbox kept).

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
from core.pending import Held
from core.policy import LifecyclePolicy
from schemas.events import decode as decode_event

FORMAT = b"1"
_SEPARATOR = b"|"
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(state: ComplaintState | None, outbox: list[dict], wake: datetime | None,
           held: tuple[Held, ...] = (), partition: int | None = None) -> bytes:
    """A complaint's value: its state, or (before its registration) what it holds."""
    value: dict = {"outbox": outbox}
    if state is not None:
        value["state"] = state.to_dict()
    else:
        value["held"] = {"partition": partition,
                         "commands": [{"offset": h.offset, "raw": h.raw} for h in held]}
    body = _compact(value).encode()
    return b"".join((FORMAT, _SEPARATOR, wake.isoformat().encode() if wake else b"",
                     _SEPARATOR, body))


def _body(raw: bytes) -> dict:
    return json.loads(raw.split(_SEPARATOR, 2)[2] if raw[:2] == FORMAT + _SEPARATOR else raw)


def decode(raw: bytes) -> tuple[ComplaintState | None, list[dict]]:
    """The state (None while the complaint only holds commands) and outbox of a value."""
    data = _body(raw)
    state = data.get("state")
    return (ComplaintState.from_dict(state) if state is not None else None), data["outbox"]


def decode_held(raw: bytes) -> tuple[Held, ...]:
    """The commands a value holds for its registration, oldest first."""
    held = _body(raw).get("held")
    if not held:
        return ()
    return tuple(Held(command=decode_event(h["raw"].encode()), offset=h["offset"],
                      raw=h["raw"]) for h in held["commands"])


def held_count(raw: bytes) -> tuple[int | None, int]:
    """(partition, how many commands) a value holds; a value with a state holds none and
    is not decoded (the marker is looked for first)."""
    if b'"held":' not in raw:
        return None, 0
    held = _body(raw).get("held") or {}
    return held.get("partition"), len(held.get("commands", ()))


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
