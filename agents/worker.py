"""What the agents of one worker share: its Faust app, topics, tables, clock, time index,
officer directory, metrics, read frontier, and the dead-letter path.

Built from settings passed in (agents/factory.py attaches the agents); nothing here reads
the environment or starts anything at import. Side effects (the metrics endpoint, the
directory reader, the consumer) start when the worker runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import start_http_server

from agents.faust_adapter import ConsumerAccess
from agents.reading import InputReader
from core.intake import IntakeRules
from core.lifecycle import Context, derived_id
from core.time_index import TimeIndex
from schemas.deadletter import DeadLetter, complaint_id_in
from schemas.records import payload_too_large
from sinks.metrics import Metrics
from streams.clock import clock_for
from streams.directory import LiveDirectory
from streams.security import faust_credentials
from streams.settings import Settings
from streams.topics import (
    CITIZEN_CONTACTS,
    COMPLAINT_COMMANDS,
    COMPLAINT_ESCALATIONS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
    COMPLAINTS_SUBMITTED,
    DEAD_LETTERS,
    INTAKE_BY_CITIZEN,
    TopicSpec,
)

log = logging.getLogger("sankalp")

# (events of an input, its logical topic name) -> the events the agent reads. Tests use it
# to drop a message unhandled, as Faust's stream does to one it skips around a rebalance.
InputFilter = Callable[[AsyncIterator, str], AsyncIterator]


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        # SASL / TLS (KAFKA_SECURITY_PROTOCOL ...): Faust passes these to every aiokafka
        # consumer, producer and admin client it makes.
        broker_credentials=faust_credentials(settings),
        store=settings.table_store,
        datadir=str(settings.worker_data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, settings.session_timeout_seconds / 5),
        web_enabled=False,
        # Messages sent while handling an event are attached to its offset and published
        # when that offset is committed; Faust waits for their acknowledgement before it
        # commits. So an offset never moves ahead of its effects, without a round trip to
        # the broker per event. A commit every 100 ms keeps that delay small.
        stream_publish_on_commit=True,
        broker_commit_interval=settings.commit_interval_seconds,
        consumer_max_fetch_size=settings.consumer_max_fetch_mb * 2**20,
        autodiscover=False,
    )


def table_store_options(settings: Settings) -> dict | None:
    """RocksDB's memory per table partition (Faust opens one database per partition)."""
    if not settings.table_store.startswith("rocksdb"):
        return None
    size = settings.table_memory_mb * 2**20
    return {"write_buffer_size": size, "max_write_buffer_number": 2,
            "block_cache_size": size, "block_cache_compressed_size": size}


@dataclass(frozen=True)
class Topics:
    submitted: faust.TopicT
    by_citizen: faust.TopicT
    commands: faust.TopicT
    events: faust.TopicT
    escalations: faust.TopicT
    state: faust.TopicT
    dead_letters: faust.TopicT
    contacts: faust.TopicT


@dataclass(frozen=True)
class Tables:
    """Changelog-backed tables, co-partitioned with their input topics."""

    complaints: faust.Table  # complaint_id -> state, outbox, next wake-up (agents/stored.py)
    callers: faust.Table  # caller pseudonym -> intake history (agents/stored.py)


class Worker:
    """One worker's app and what its agents share. Built by `create_worker`."""

    def __init__(self, settings: Settings, *, input_filter: InputFilter | None = None,
                 consumer: Any = None) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.topics = Topics(
            submitted=self.raw_topic(COMPLAINTS_SUBMITTED),
            by_citizen=self.raw_topic(INTAKE_BY_CITIZEN),
            commands=self.raw_topic(COMPLAINT_COMMANDS),
            events=self.raw_topic(COMPLAINT_EVENTS),
            escalations=self.raw_topic(COMPLAINT_ESCALATIONS),
            state=self.raw_topic(COMPLAINT_STATE),
            dead_letters=self.raw_topic(DEAD_LETTERS),
            contacts=self.raw_topic(CITIZEN_CONTACTS),
        )
        partitions = settings.topic_partitions
        self.tables = Tables(
            complaints=self.app.Table("complaints", default=None, partitions=partitions,
                                      value_type=bytes,  # stored as is (raw)
                                      options=table_store_options(settings)),
            callers=self.app.Table("callers", default=None, partitions=partitions,
                                   value_type=bytes,  # agents/stored.py encode_caller
                                   options=table_store_options(settings)),
        )
        self.clock = clock_for(settings.clock)
        self.time_index = TimeIndex()
        self.index_needs_rebuild = True  # set after every rebalance: the timer rebuilds it
        # commands held for their registration, per partition of the commands topic
        # (core/pending.py); rebuilt with the time index, from the stored values
        self.held_counts: dict[int, int] = {}
        self.held_max_age = timedelta(minutes=settings.held_command_max_age_minutes)
        self.directory = LiveDirectory()
        self.context = Context(directory=self.directory, calendar=settings.calendar(),
                               policy=settings.policy())
        self.intake_rules = IntakeRules(
            duplicate_window=timedelta(days=settings.duplicate_window_days),
            daily_limit=settings.caller_daily_limit,
        )
        self.metrics = Metrics()
        # Faust's own sensor metrics (messages, events, commit latency, ...) beside ours.
        self.app.monitor = PrometheusMonitor(
            metrics=FaustMetrics.create(self.metrics.registry, "faust"))
        self.consumer = consumer if consumer is not None else ConsumerAccess(self.app)
        self.reader = InputReader(self.consumer, self.metrics)
        self._input_filter = input_filter
        self.agents: dict[str, Any] = {}
        self._wire()

    # --- building ---------------------------------------------------------------------
    def raw_topic(self, spec: TopicSpec) -> faust.TopicT:
        """A declared topic as bytes in, bytes out: payloads are parsed (and rejected) by
        our code, never by Faust's serializers, so a malformed event cannot crash an agent."""
        return self.app.topic(
            self.settings.topic(spec.name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions_for(self.settings),
        )

    def inputs(self, stream: Any, spec: TopicSpec) -> AsyncIterator:
        """What an agent reads: its stream's events through the read frontier."""
        events = stream.events()
        if self._input_filter is not None:
            events = self._input_filter(events, spec.name)
        return self.reader.in_order(events, self.settings.topic(spec.name), spec.name)

    def _wire(self) -> None:
        app = self.app

        @app.on_rebalance_complete.connect
        async def _after_rebalance(sender: Any, **kwargs: Any) -> None:
            self.index_needs_rebuild = True

        @app.on_partitions_revoked.connect
        async def _on_revoke(sender: Any, revoked: Any, **kwargs: Any) -> None:
            self.index_needs_rebuild = True
            self.reader.forget()

        @app.on_partitions_assigned.connect
        async def _on_assign(sender: Any, assigned: Any, **kwargs: Any) -> None:
            self.reader.forget()

        @app.task
        async def _start_directory() -> None:
            self.directory.follow(self.settings)

        @app.task
        async def _serve_metrics() -> None:
            self.serve_metrics()

    def serve_metrics(self) -> None:
        port = self.settings.metrics_port
        if not port:
            return
        try:
            start_http_server(port, registry=self.metrics.registry)
            log.info("worker metrics on http://0.0.0.0:%d/metrics", port)
        except OSError as exc:  # another worker on this host holds the port: keep working
            log.error("worker metrics endpoint not started on port %d: %s", port, exc)

    # --- what agents share ------------------------------------------------------------
    async def send(self, topic: faust.TopicT, key: bytes | None, value: bytes) -> Any:
        """Inside an event, attached to its offset and published before that offset is
        committed (stream_publish_on_commit); outside one (the timer), sent at once."""
        return await topic.send(key=key, value=value)

    def committed_offset(self, tp: Any) -> int | None:
        return self.consumer.committed_offset(tp)

    def observe_latency(self, agent: str, message: Any) -> None:
        """From the message's arrival on Kafka to now (its effects acknowledged)."""
        if message.timestamp:
            self.metrics.processing_latency_seconds.labels(agent).observe(
                max(0.0, time.time() - message.timestamp))

    def oversized(self, message: Any) -> str | None:
        """Ingress topics take up to a few MB so that an oversized payload reaches us and
        gets a dead letter with the reason, instead of a producer error nobody reads."""
        return payload_too_large(len(message.value or b""), self.settings.max_payload_bytes)

    def ahead_of_clock(self, occurred_at: datetime) -> str | None:
        """In wall time, a command dated in the future would fire its complaint's deadlines
        early (the core catches up to a command's time): refuse it. In event time the
        events define time (replays, tests), so there is nothing to compare with."""
        if self.clock.mode != "wall":
            return None
        skew = self.settings.max_clock_skew_seconds
        if occurred_at > self.clock.now() + timedelta(seconds=skew):
            return (f"occurred_at {occurred_at.isoformat()} is more than {skew:g} s ahead "
                    f"of the pipeline clock (SANKALP_MAX_CLOCK_SKEW_SECONDS)")
        return None

    async def dead_letter(self, message: Any, reason: str, complaint_id: str | None = None
                          ) -> None:
        """Park an input we cannot accept, with the reason; never log its content (it may
        hold personal data). The original is kept up to the payload limit. The letter is
        keyed by the complaint id (given, or read from the payload when it is within the
        limit), else by the original key: so it lands beside the complaint's other records
        whichever topic refused it (the caller-keyed intake topic included)."""
        raw = message.value or b""
        if complaint_id is None and len(raw) <= self.settings.max_payload_bytes:
            complaint_id = complaint_id_in(raw)
        key = complaint_id.encode() if complaint_id is not None else message.key
        await self.dead_letter_at(message.topic, message.partition, message.offset, key,
                                  raw, reason)

    async def dead_letter_at(self, topic: str, partition: int, offset: int,
                             key: bytes | None, raw: bytes, reason: str) -> None:
        """A dead letter for the message at a position: the one being handled, or a
        command held for its registration and refused later (core/pending.py). Its id is
        derived from the position, so it is the same whenever it is refused."""
        letter = DeadLetter.of(
            event_id=derived_id("dead-letter", topic, partition, offset),
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            raw=raw[:self.settings.max_payload_bytes],
            reason=reason,
            received_at=datetime.now(UTC),
        )
        log.warning("dead-lettered %s[%s]@%s: %s", topic, partition, offset, reason)
        await self.send(self.topics.dead_letters, key, letter.to_json())
