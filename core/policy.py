"""The rules an operator may tune, with the defaults docs/domain.md names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

UnreachableRule = Literal["await_citizen", "return_to_officer"]


@dataclass(frozen=True)
class LifecyclePolicy:
    # SLA warnings at these shares of the time limit (helpdesk practice: 50 % and 75 %)
    warning_fractions: tuple[float, ...] = (0.5, 0.75)
    # transfers allowed before the complaint goes to the district level instead
    transfer_cap: int = 2
    # appeals after closure a citizen may make (AP PGRS: twice)
    max_reopens: int = 2
    # call-back attempts before the unreachable rule applies
    callback_max_attempts: int = 3
    callback_retry_after: timedelta = timedelta(hours=2)
    # after the last failed call-back: wait for the citizen (SLA paused), or give it back
    # to the officer with a fresh time limit. Never a close: only the citizen closes.
    unreachable_rule: UnreachableRule = "await_citizen"
    # level 4 has no level above: an overdue complaint reminds this often, for ever
    state_reminder_every: timedelta = timedelta(days=1)
    # share of closed complaints offered for a CM / minister check call
    verification_sample_rate: float = 0.1

    def __post_init__(self) -> None:
        if any(not 0 < f < 1 for f in self.warning_fractions):
            raise ValueError("warning fractions must lie strictly between 0 and 1")
        if self.transfer_cap < 0 or self.max_reopens < 0 or self.callback_max_attempts < 1:
            raise ValueError("caps must not be negative; at least one call-back attempt")
        if not 0 <= self.verification_sample_rate <= 1:
            raise ValueError("verification_sample_rate must lie in [0, 1]")
        if self.state_reminder_every <= timedelta(0):
            raise ValueError("state_reminder_every must be positive")
