"""Token buckets per API key (and per officer post): a flood from one key gets 429 with
Retry-After while every other key is served.

The buckets live in the process, one set per replica: the API keeps no shared state, so N
replicas behind a load balancer allow up to N times the rate. That bounds a runaway client;
the caller limit (complaints per citizen per day) is the pipeline's, decided in the worker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        # key -> (tokens, when counted). Keys are clients of the keys file and officer
        # posts (a few thousand at most), never anything a caller makes up.
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, key: str, rate: float | None = None) -> int:
        """0 if `key` may make a request now (and count it), else whole seconds to wait."""
        rate = rate or self.rate
        burst = max(self.burst, rate)  # a key allowed more per second may also burst more
        now = self._clock()
        tokens, then = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / rate))
