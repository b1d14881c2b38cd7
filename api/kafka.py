"""One producer per API process, shared by every request; a request awaits only its own
message's acknowledgement.

The producer is the project's (streams/producer.py: idempotent, acks=all, the workers'
partitioner), so librdkafka batches what concurrent requests produce: no request makes a
Kafka round trip of its own beyond waiting for the acknowledgement of the batch its message
went out in. A thread serves the delivery reports and resolves the requests' futures on the
event loop, one loop wake-up per batch of reports.

A message not acknowledged within SANKALP_API_KAFKA_TIMEOUT_SECONDS is given up by
librdkafka itself (message.timeout.ms), so the request answers 503 and the message is
never sent after that. (One already in flight when the broker went silent may have been
written unacknowledged: a retry with the same Idempotency-Key is then the same complaint.)
Once a message has failed so, requests get 503 at once instead of each waiting out the
timeout, until a metadata round trip (every second, api/app.py) or an acknowledged message
shows Kafka answering again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from streams.producer import make_producer
from streams.settings import Settings

log = logging.getLogger("sankalp.api")


class KafkaUnavailable(Exception):
    """Kafka did not take the message; the reason is safe to show."""


class AsyncPublisher:
    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.timeout = settings.api_kafka_timeout_seconds
        self._loop = loop
        self._producer = make_producer(settings, **{
            "message.timeout.ms": max(1000, int(self.timeout * 1000)),
            "error_cb": self._on_error,
        })
        self._reports: list[tuple[asyncio.Future, Any]] = []
        self._down_since: float | None = None
        self._fatal = False  # the idempotent producer cannot go on: readiness fails for good
        self._error_logged_at = -60.0
        self._errors_unlogged = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve_reports, daemon=True,
                                        name="api-kafka-reports")
        self._thread.start()

    # --- the delivery reports, on the reports thread --------------------------------------
    def _serve_reports(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            if self._reports:
                batch, self._reports = self._reports, []
                self._loop.call_soon_threadsafe(self._resolve, batch)

    def _on_delivery(self, future: asyncio.Future, err: Any, _msg: Any) -> None:
        self._reports.append((future, err))

    def _on_error(self, err: KafkaError) -> None:
        # librdkafka reports lost connections here and keeps retrying by itself; it also
        # says "all brokers down" when an idle connection is closed. So this only logs:
        # what requests are told follows their own messages' fate (see _resolve).
        if err.fatal():
            log.error("Kafka producer: fatal error %s; this process must be restarted "
                      "(/readyz fails)", err.name())
            self._fatal = True
        else:
            # librdkafka retries every few tens of milliseconds: one line per 30 s.
            self._errors_unlogged += 1
            now = time.monotonic()
            if now - self._error_logged_at >= 30:
                log.info("Kafka: %s (%d such report(s) since the last line)", err.name(),
                         self._errors_unlogged)
                self._error_logged_at, self._errors_unlogged = now, 0

    # --- on the event loop ----------------------------------------------------------------
    def _resolve(self, batch: list[tuple[asyncio.Future, Any]]) -> None:
        for future, err in batch:
            if future.done():  # the client went away; the message's fate is the same
                continue
            if err is None:
                self._down_since = None
                future.set_result(None)
            else:
                if self._down_since is None:
                    log.warning("Kafka: a message was not acknowledged (%s); intake answers "
                                "503 until Kafka answers again", err.name())
                    self._down_since = time.monotonic()
                future.set_exception(KafkaUnavailable(f"Kafka did not acknowledge: {err.name()}"))

    @property
    def down(self) -> bool:
        return self._fatal or self._down_since is not None

    async def send(self, topic_name: str, key: str, payload: bytes) -> None:
        """Produce and wait for the acknowledgement (acks=all); KafkaUnavailable if Kafka
        is down, the local queue is full, or no acknowledgement came in time."""
        if self.down:
            raise KafkaUnavailable("Kafka is unreachable")
        future = self._loop.create_future()
        try:
            self._producer.produce(self.settings.topic(topic_name), key=key.encode(),
                                   value=payload,
                                   on_delivery=functools.partial(self._on_delivery, future))
        except BufferError:
            raise KafkaUnavailable("too many requests in flight to Kafka") from None
        except KafkaException as exc:
            raise KafkaUnavailable(f"Kafka refused the message: {exc.args[0].name()}") from None
        # librdkafka answers within message.timeout.ms; the margin covers the reports' trip.
        try:
            await asyncio.wait_for(asyncio.shield(future), self.timeout + 2.0)
        except TimeoutError:
            raise KafkaUnavailable("no acknowledgement from Kafka in time") from None

    async def check(self, timeout: float = 2.0) -> bool:
        """A metadata round trip to the brokers (readiness, and noticing their return)."""
        def probe() -> bool:
            try:
                self._producer.list_topics(timeout=timeout)
                return True
            except KafkaException:
                return False

        reachable = await self._loop.run_in_executor(None, probe)
        if reachable and self._down_since is not None:
            log.info("Kafka: reachable again")
            self._down_since = None
        return reachable and not self._fatal

    def close(self, timeout: float = 5.0) -> None:
        # The reports thread first: flush() serves reports in this thread, and two threads
        # must not share the reports list.
        self._stop.set()
        self._thread.join(2)
        remaining = self._producer.flush(timeout)
        if remaining:
            log.warning("Kafka: %d message(s) not acknowledged at shutdown", remaining)
