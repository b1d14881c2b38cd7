"""Intake rules: the citizen pseudonym, duplicate detection and the per-caller limit.

State is kept per caller (keyed by the pseudonym), so the same phone's submissions are
decided in order, by one worker, whatever their complaint ids.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from core.calendar import IST
from core.routing import locate, sla_days_for
from core.state import derived_id
from schemas.events import ComplaintRegistered, ComplaintSubmitted, DuplicateLinked

Outcome = Literal["registered", "duplicate", "limited"]


def citizen_ref(phone: str, key: str) -> str:
    """A keyed hash of the phone number: the same caller links up, the number stays secret."""
    digits = phone.removeprefix("+91")
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Submission:
    event_id: str
    complaint_id: str
    category: str
    district: str
    block: str
    at: datetime
    outcome: Outcome
    linked_to: str | None = None

    def to_dict(self) -> dict:
        return {**self.__dict__, "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict) -> Submission:
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


@dataclass(frozen=True)
class CallerHistory:
    submissions: tuple[Submission, ...] = ()

    def to_dict(self) -> dict:
        return {"submissions": [s.to_dict() for s in self.submissions]}

    @classmethod
    def from_dict(cls, data: dict | None) -> CallerHistory:
        if not data:
            return cls()
        return cls(tuple(Submission.from_dict(s) for s in data["submissions"]))


@dataclass(frozen=True)
class IntakeRules:
    duplicate_window: timedelta = timedelta(days=7)
    daily_limit: int = 5


@dataclass(frozen=True)
class IntakeDecision:
    history: CallerHistory
    submission: Submission
    repeated: bool  # the same event_id was decided before: re-send, do not re-decide


def decide_submission(history: CallerHistory, submitted: ComplaintSubmitted,
                      rules: IntakeRules) -> IntakeDecision:
    for earlier in history.submissions:
        if earlier.event_id == submitted.event_id:
            return IntakeDecision(history, earlier, repeated=True)
    now = submitted.occurred_at
    keep_for = max(rules.duplicate_window, timedelta(days=1))
    recent = tuple(s for s in history.submissions if now - s.at <= keep_for)
    base = Submission(
        event_id=submitted.event_id,
        complaint_id=submitted.complaint_id,
        category=submitted.category,
        district=submitted.district,
        block=submitted.block,
        at=now,
        outcome="registered",
    )
    original = next(
        (s for s in recent
         if s.outcome == "registered" and s.complaint_id != submitted.complaint_id
         and (s.category, s.district, s.block) == (base.category, base.district, base.block)
         and now - s.at <= rules.duplicate_window),
        None,
    )
    today = now.astimezone(IST).date()
    registered_today = sum(
        1 for s in recent if s.outcome == "registered" and s.at.astimezone(IST).date() == today
    )
    if original is not None:
        decided = replace(base, outcome="duplicate", linked_to=original.complaint_id)
    elif registered_today >= rules.daily_limit:
        decided = replace(base, outcome="limited")
    else:
        decided = base
    return IntakeDecision(CallerHistory((*recent, decided)), decided, repeated=False)


# --- what the outcomes publish (the workers and the in-process backtest both use these,
# so a replay decides and names things exactly as the pipeline does) -----------------------


def check_routable(submitted: ComplaintSubmitted) -> None:
    """Raise RoutingError if the category or the place is unknown."""
    sla_days_for(submitted.category)
    locate(submitted.district, submitted.block)


def registration(submitted: ComplaintSubmitted, ref: str) -> ComplaintRegistered:
    """The lifecycle's command for a registered submission: no personal data, the caller
    by pseudonym."""
    return ComplaintRegistered(
        event_id=derived_id(submitted.event_id, "registered"),
        complaint_id=submitted.complaint_id,
        occurred_at=submitted.occurred_at,
        channel=submitted.channel,
        category=submitted.category,
        district=submitted.district,
        block=submitted.block,
        text=submitted.text,
        citizen_ref=ref,
    )


def duplicate_link(submitted: ComplaintSubmitted, linked_to: str) -> DuplicateLinked:
    return DuplicateLinked(
        event_id=derived_id(submitted.event_id, "duplicate"),
        complaint_id=submitted.complaint_id,
        occurred_at=submitted.occurred_at,
        duplicate_of=linked_to,
        channel=submitted.channel,
    )


def limit_reason(rules: IntakeRules) -> str:
    return f"caller limit: more than {rules.daily_limit} complaints today"
