"""Wait for Kafka (and for the topics a process reads) before a worker or the sink starts.

Handed an unreachable cluster, a Faust worker dies at once with a KafkaConnectionError
traceback (exit 1), and librdkafka clients print a line per failed connection. Services
start in any order, so a worker started before the brokers should simply wait: retry with
a capped back-off, say so once per attempt at WARNING, and hand over to Faust only when a
metadata request succeeds.

Reachable is not enough. A worker subscribed to a topic that does not exist yet is not
told when it is created: Faust refreshes its consumer's metadata every 5 minutes, so a
worker started before `sankalp topics create` would sit idle for up to that long (seen on
the local stack: 298 s). So the wait goes on until the topics the process reads exist.
When only some exist (a worker that runs only the smoke topics, say), it lets a few
seconds pass, since topics created together appear together, then starts with a warning
naming the missing ones.

`SANKALP_KAFKA_WAIT_SECONDS` bounds the wait (0, the default: for ever); past it the caller
exits with code 2, and whatever restarts it decides what next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException

from streams.security import confluent_config
from streams.settings import Settings

log = logging.getLogger("sankalp.kafka_wait")

FIRST_DELAY = 1.0  # seconds before the second attempt; doubles up to MAX_DELAY
MAX_DELAY = 10.0
PROBE_TIMEOUT = 5.0  # one metadata request; a broker on a healthy network answers in ms
SETTLE_SECONDS = 3.0  # how long some-but-not-all topics may stay missing before we go on

# A probe asks the cluster for its topic names within a timeout (seconds); it raises when
# the cluster cannot be reached.
Probe = Callable[[float], Collection[str]]


class KafkaUnavailable(RuntimeError):
    """Kafka (or the topics) did not appear within SANKALP_KAFKA_WAIT_SECONDS."""


@dataclass(frozen=True)
class WaitOutcome:
    attempts: int  # metadata requests made, the successful one included
    waited: float  # seconds from the first attempt to the return
    missing_topics: tuple[str, ...]  # wanted topics still absent when the wait ended


def client_config(settings: Settings) -> dict[str, Any]:
    """librdkafka options for the probe: the brokers and their security (SASL / TLS) as for
    every other client, and quiet, because each failed connection would otherwise print a
    line to stderr and bury our one line per attempt."""
    return confluent_config(settings) | {"log_level": 0}


def admin_probe(settings: Settings) -> Probe:
    """A probe that makes one metadata request through a new AdminClient."""
    from confluent_kafka.admin import AdminClient

    config = client_config(settings)
    # Built once here so that a bad option fails at once, not as "unreachable" for ever.
    AdminClient(config)

    def probe(timeout: float) -> Collection[str]:
        # A fresh client each time: librdkafka's own reconnect back-off (up to 10 s) must
        # not delay the first attempt after the broker comes up.
        return set(AdminClient(config).list_topics(timeout=timeout).topics)

    return probe


def backoff(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """1, 2, 4, 8, 10, 10, ... seconds: quick when the broker is just starting, and no more
    than one probe (and one log line) every `cap` seconds during a long outage."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def _reason(exc: Exception) -> str:
    if isinstance(exc, KafkaException) and exc.args and hasattr(exc.args[0], "str"):
        return exc.args[0].str()
    return str(exc) or type(exc).__name__


def wait_for_kafka(
    settings: Settings,
    topics: Collection[str] = (),
    *,
    reader: str = "this process",
    probe: Probe | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> WaitOutcome:
    """Return once the cluster answers and `topics` exist (see the module docstring);
    raise KafkaUnavailable after settings.kafka_wait_seconds when that is above 0.
    `probe`, `sleep` and `clock` are there for tests."""
    probe = probe or admin_probe(settings)
    servers = settings.kafka_bootstrap_servers
    limit = settings.kafka_wait_seconds
    wanted = set(topics)
    started = clock()
    attempts = 0
    delays = backoff()
    reachable = False
    partial_since: float | None = None

    def give_up_if_late(why: str) -> None:
        waited = clock() - started
        if limit > 0 and waited >= limit:
            tries = f"{attempts} attempt" + ("" if attempts == 1 else "s")
            raise KafkaUnavailable(f"{why} after {waited:.0f} s ({tries}); giving up "
                                   f"(SANKALP_KAFKA_WAIT_SECONDS={limit:g})")

    def pause(delay: float) -> None:
        # Never sleep past the limit: the last attempt falls on it, not after it.
        sleep(delay if limit <= 0 else max(0.0, min(delay, limit - (clock() - started))))

    while True:
        attempts += 1
        timeout = PROBE_TIMEOUT
        if limit > 0:  # the last attempt ends on the limit, not a probe's length after it
            timeout = max(0.5, min(timeout, limit - (clock() - started)))
        try:
            present = set(probe(timeout))
        except Exception as exc:  # any failure to reach the cluster means: try again
            give_up_if_late(f"Kafka not reachable at {servers} ({_reason(exc)})")
            delay = next(delays)
            log.warning("Kafka not reachable at %s (attempt %d, waited %.0f s): "
                        "retrying in %.0f s (%s)", servers, attempts, clock() - started,
                        delay, _reason(exc))
            pause(delay)
            continue
        if not reachable:
            reachable = True
            delays = backoff()  # the broker is back: look for the topics quickly
            if attempts > 1:
                log.info("Kafka reachable at %s after %d attempts (%.0f s)", servers,
                         attempts, clock() - started)
        missing = sorted(wanted - present)
        if not missing:
            return WaitOutcome(attempts, clock() - started, ())
        if len(missing) == len(wanted):
            partial_since = None
            give_up_if_late(f"none of the topics {reader} reads exists on {servers} "
                            "(create them with `sankalp topics create`)")
            delay = next(delays)
            log.warning("Kafka at %s has none of the %d topics %s reads (e.g. %s); create "
                        "them with `sankalp topics create` (attempt %d, waited %.0f s): "
                        "retrying in %.0f s", servers, len(wanted), reader, missing[0],
                        attempts, clock() - started, delay)
            pause(delay)
            continue
        now = clock()
        if partial_since is None:
            partial_since = now
        # Out of time with some topics there: start rather than fail (what can run, runs).
        if now - partial_since >= SETTLE_SECONDS or (limit > 0 and now - started >= limit):
            log.warning("starting without %d of the topics %s reads: %s; what reads them "
                        "stays idle until they exist and its metadata is refreshed",
                        len(missing), reader, ", ".join(missing))
            return WaitOutcome(attempts, now - started, tuple(missing))
        pause(0.5)


def wait_for_kafka_or_give_up(settings: Settings, topics: list[str], reader: str) -> bool:
    """For a process about to start: wait for the cluster and the topics `reader` consumes;
    False (after one error line) when SANKALP_KAFKA_WAIT_SECONDS ran out, and the caller
    exits with 2. A SIGTERM while waiting is a clean exit: nothing started yet."""
    import signal

    def stop_waiting(*_: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop_waiting)
    try:
        wait_for_kafka(settings, topics, reader=reader)
    except KafkaUnavailable as exc:
        logging.getLogger("sankalp.kafka_wait").error("%s", exc)
        return False
    finally:
        signal.signal(signal.SIGTERM, previous)
    return True
