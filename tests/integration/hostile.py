"""Bad messages, generated from a seed, to mix into the good traffic of a scenario.

Every message says what it is and which reason its dead letter must give (or that it is a
repeat, absorbed without a trace). Personal data in them comes from the scenario, so the
privacy checks cover it too.
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.events import (
    CitizenFeedback,
    ComplaintSubmitted,
    Event,
    OfficerActed,
    VerificationResult,
)
from streams.topics import COMPLAINT_COMMANDS, COMPLAINTS_SUBMITTED

REPEAT = "(absorbed as a repeat)"


@dataclass(frozen=True)
class Bad:
    topic: str          # logical topic name
    key: bytes | None
    value: bytes
    kind: str
    expect: str         # a part of the dead letter's reason, or REPEAT


class Hostile:
    def __init__(self, seed: int, officers: list[str]) -> None:
        self.rng = random.Random(seed)
        self.officers = officers
        self.sent: list[Bad] = []

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def _keep(self, bad: Bad) -> Bad:
        self.sent.append(bad)
        return bad

    # --- anything that is not a valid event, on either ingress topic --------------------
    def garbage(self, good: ComplaintSubmitted | Event, topic: str) -> Bad:
        """A broken copy of a good event (which is used only as a template)."""
        data = json.loads(good.to_json())
        # never a good complaint's key: garbage must not touch (or account for) one
        data["complaint_id"] = f"BAD-{self._id()[:18]}"
        key = str(data["complaint_id"]).encode()
        r = self.rng.random()
        if r < 0.12:
            raw = json.dumps(data).encode()
            cut = self.rng.randrange(1, len(raw) - 1)
            return self._keep(Bad(topic, key, raw[:cut], "malformed JSON",
                                  "not valid UTF-8 JSON"))
        if r < 0.2:
            raw = b"\xff\xfe\x80" + json.dumps(data).encode()[3:]
            return self._keep(Bad(topic, key, raw, "invalid UTF-8", "not valid UTF-8 JSON"))
        if r < 0.26:
            value = self.rng.choice([b"[1, 2, 3]", b"42", b'"complaint"', b"null", b"true"])
            return self._keep(Bad(topic, key, value, "not an object",
                                  "must be a JSON object"))
        if r < 0.32:
            data["event_type"] = self.rng.choice(["complaint.deleted", "", 7, None])
            return self._keep(Bad(topic, key, json.dumps(data).encode(), "unknown event type",
                                  "event_type"))
        if r < 0.5:
            name = self.rng.choice([k for k in data if k not in ("event_type",
                                                                  "schema_version")])
            data[name] = self.rng.choice([12345, ["x"], {"a": 1}, True, 3.5])
            return self._keep(Bad(topic, key, json.dumps(data).encode(),
                                  f"wrong type of {name}", name))
        if r < 0.65:
            required = [f.name for f in dataclasses.fields(good)
                        if f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING]
            name = self.rng.choice(required)
            del data[name]
            return self._keep(Bad(topic, key, json.dumps(data).encode(), f"missing {name}",
                                  "missing field"))
        if r < 0.8:
            data[self.rng.choice(["priority", "officer_phone", "x", "debug"])] = "extra"
            return self._keep(Bad(topic, key, json.dumps(data).encode(), "extra field",
                                  "unknown field"))
        if r < 0.87:
            data["schema_version"] = self.rng.choice([2, 0, "1", None])
            return self._keep(Bad(topic, key, json.dumps(data).encode(), "schema version",
                                  "schema_version"))
        if r < 0.95:
            return self._keep(Bad(topic, self.rng.choice([None, b"", b"other-key"]),
                                  json.dumps(data).encode(), "wrong key",
                                  "key must be the complaint_id"))
        # timestamps the pipeline cannot read
        data["occurred_at"] = self.rng.choice(["yesterday", "2026-13-45T00:00:00Z", "",
                                               "1700000000"])
        return self._keep(Bad(topic, key, json.dumps(data).encode(), "bad timestamp",
                              "occurred_at"))

    def oversized(self, good: ComplaintSubmitted) -> Bad:
        data = json.loads(good.to_json())
        data["complaint_id"] = f"BAD-{self._id()[:18]}"
        data["text"] = "पानी " * self.rng.randrange(110_000, 200_000)  # 1.2-2.2 MB UTF-8
        return self._keep(Bad(COMPLAINTS_SUBMITTED.name, data["complaint_id"].encode(),
                              json.dumps(data, ensure_ascii=False).encode(), "oversized",
                              "-byte limit"))

    def unknown_codes(self, good: ComplaintSubmitted) -> Bad:
        which = self.rng.choice(["district", "block", "category"])
        value = {"district": "Atlantis", "block": "Nowhere",
                 "category": "alien_landing"}[which]
        bad = dataclasses.replace(good, event_id=self._id(),
                                  complaint_id=f"BAD-{self._id()[:18]}", **{which: value})
        return self._keep(Bad(COMPLAINTS_SUBMITTED.name, bad.complaint_id.encode(),
                              bad.to_json(), f"unknown {which}", f"unknown {which}"
                              if which != "category" else "unknown complaint category"))

    # --- well-formed commands the lifecycle must refuse -----------------------------------
    def for_unknown_complaint(self, at: datetime) -> Bad:
        cid = f"GHOST-{self._id()[:12]}"
        command = self.rng.choice([
            OfficerActed(event_id=self._id(), complaint_id=cid, occurred_at=at,
                         officer_id=self.rng.choice(self.officers), action="acknowledged"),
            CitizenFeedback(event_id=self._id(), complaint_id=cid, occurred_at=at,
                            outcome="satisfied"),
            VerificationResult(event_id=self._id(), complaint_id=cid, occurred_at=at,
                               verifier="minister", outcome="failed"),
        ])
        return self._command(command, "event for an unknown complaint", "no such complaint")

    def refused(self, complaint_id: str, officer_id: str, registered_at: datetime) -> Bad:
        """Against a complaint just registered (assigned, nothing proposed yet)."""
        at = registered_at + timedelta(minutes=self.rng.randrange(1, 30))
        stranger = self.rng.choice([o for o in self.officers[:50] if o != officer_id])
        choice = self.rng.randrange(6)
        if choice == 0:
            cmd: Event = OfficerActed(event_id=self._id(), complaint_id=complaint_id,
                                      occurred_at=at, officer_id=stranger,
                                      action="resolution_proposed")
            return self._command(cmd, "officer action from the wrong officer",
                                 "only the responsible officer")
        if choice == 1:
            cmd = CitizenFeedback(event_id=self._id(), complaint_id=complaint_id,
                                  occurred_at=at, outcome=self.rng.choice(
                                      ["satisfied", "not_satisfied", "unreachable"]))
            return self._command(cmd, "feedback while not awaiting feedback",
                                 "no resolution has been proposed")
        if choice == 2:
            cmd = VerificationResult(event_id=self._id(), complaint_id=complaint_id,
                                     occurred_at=at, verifier="chief_minister",
                                     outcome="failed")
            return self._command(cmd, "verification of an open complaint (out of order)",
                                 "only a closed complaint can be verified")
        if choice == 3:
            cmd = OfficerActed(event_id=self._id(), complaint_id=complaint_id,
                               occurred_at=at, officer_id=officer_id,
                               action="special_close_approved")
            return self._command(cmd, "approval with nothing proposed (out of order)",
                                 "no special close is awaiting approval")
        if choice == 4:
            cmd = OfficerActed(event_id=self._id(), complaint_id=complaint_id,
                               occurred_at=at, officer_id=officer_id,
                               action="transfer_requested", reason="not ours",
                               target_department="XYZ")
            return self._command(cmd, "transfer to an unknown department",
                                 "cannot transfer")
        cmd = OfficerActed(event_id=self._id(), complaint_id=complaint_id, occurred_at=at,
                           officer_id=stranger, action="special_close_rejected")
        return self._command(cmd, "rejection with nothing proposed (out of order)",
                             "no special close is awaiting approval")

    def repeat(self, good: Event | ComplaintSubmitted, topic: str) -> Bad:
        return self._keep(Bad(topic, good.complaint_id.encode(), good.to_json(),
                              "repeated event", REPEAT))

    def _command(self, command: Event, kind: str, expect: str) -> Bad:
        return self._keep(Bad(COMPLAINT_COMMANDS.name, command.complaint_id.encode(),
                              command.to_json(), kind, expect))
