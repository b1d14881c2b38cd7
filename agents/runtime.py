"""What the agents of one worker share: topics, tables, the clock, the time index, the
officer directory, and the dead-letter path. Built once from the settings at import."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import start_http_server

from core.intake import IntakeRules
from core.lifecycle import Context, derived_id
from core.time_index import TimeIndex
from schemas.deadletter import DeadLetter
from sinks.metrics import Metrics
from streams.app import app, raw_topic, settings
from streams.clock import clock_for
from streams.directory import LiveDirectory
from streams.topics import (
    CITIZEN_CONTACTS,
    COMPLAINT_COMMANDS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
    COMPLAINTS_SUBMITTED,
    DEAD_LETTERS,
    INTAKE_BY_CITIZEN,
)

log = logging.getLogger("sankalp")

submitted_topic = raw_topic(COMPLAINTS_SUBMITTED)
by_citizen_topic = raw_topic(INTAKE_BY_CITIZEN)
commands_topic = raw_topic(COMPLAINT_COMMANDS)
events_topic = raw_topic(COMPLAINT_EVENTS)
state_topic = raw_topic(COMPLAINT_STATE)
dead_letter_topic = raw_topic(DEAD_LETTERS)
contacts_topic = raw_topic(CITIZEN_CONTACTS)

# Changelog-backed tables, co-partitioned with their input topics.
complaints_table = app.Table("complaints", default=None, partitions=settings.topic_partitions)
deadlines_table = app.Table("deadlines", default=None, partitions=settings.topic_partitions)
callers_table = app.Table("callers", default=None, partitions=settings.topic_partitions)

clock = clock_for(settings.clock)
time_index = TimeIndex()
directory = LiveDirectory()
context = Context(directory=directory, calendar=settings.calendar(), policy=settings.policy())
intake_rules = IntakeRules(
    duplicate_window=timedelta(days=settings.duplicate_window_days),
    daily_limit=settings.caller_daily_limit,
)


class IndexState:
    """Set after every rebalance: the timer rebuilds the time index from the table."""

    needs_rebuild = True


@app.on_rebalance_complete.connect
async def _rebuild_after_rebalance(sender, **kwargs) -> None:
    IndexState.needs_rebuild = True


@app.on_partitions_revoked.connect
async def _forget_revoked(sender, revoked, **kwargs) -> None:
    IndexState.needs_rebuild = True


metrics = Metrics()
# Faust's own sensor metrics (messages, events, commit latency, ...) beside ours.
app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(metrics.registry, "faust"))


@app.task
async def _start_directory() -> None:
    directory.follow(settings)


@app.task
async def _serve_metrics() -> None:
    if not settings.metrics_port:
        return
    try:
        start_http_server(settings.metrics_port, registry=metrics.registry)
        log.info("worker metrics on http://0.0.0.0:%d/metrics", settings.metrics_port)
    except OSError as exc:  # another worker on this host holds the port: keep working
        log.error("worker metrics endpoint not started on port %d: %s",
                  settings.metrics_port, exc)


def committed_offset(tp) -> int | None:
    """The offset Faust last committed for a partition of this worker (None before the
    first commit). Faust keeps it in its consumer; there is no public accessor."""
    consumer = getattr(app, "_consumer", None)
    offsets = getattr(consumer, "_committed_offset", None) if consumer is not None else None
    return offsets.get(tp) if offsets is not None else None


def observe_latency(agent: str, message) -> None:
    """From the message's arrival on Kafka to now (its effects acknowledged)."""
    if message.timestamp:
        metrics.processing_latency_seconds.labels(agent).observe(
            max(0.0, time.time() - message.timestamp))


async def acknowledged(pending: list) -> None:
    """Wait until every send is acknowledged (acks=all). Only for sends outside an event
    (the timer's): inside one, sends are attached to the event's offset and Faust publishes
    and awaits them before committing it (stream_publish_on_commit)."""
    if pending:
        await asyncio.gather(*pending)


def oversized(message) -> str | None:
    """Ingress topics take up to a few MB so that an oversized payload reaches us and gets a
    dead letter with the reason, instead of a producer error nobody reads."""
    size = len(message.value or b"")
    if size > settings.max_payload_bytes:
        return (f"payload of {size:,} bytes is over the {settings.max_payload_bytes:,}-byte "
                f"limit (SANKALP_MAX_PAYLOAD_BYTES); the dead letter keeps its first "
                f"{settings.max_payload_bytes:,} bytes")
    return None


def ahead_of_clock(occurred_at: datetime) -> str | None:
    """In wall time, a command dated in the future would fire its complaint's deadlines
    early (the core catches up to a command's time): refuse it. In event time the events
    define time (replays, tests), so there is nothing to compare with."""
    if clock.mode != "wall":
        return None
    limit = clock.now() + timedelta(seconds=settings.max_clock_skew_seconds)
    if occurred_at > limit:
        return (f"occurred_at {occurred_at.isoformat()} is more than "
                f"{settings.max_clock_skew_seconds:g} s ahead of the pipeline clock "
                f"(SANKALP_MAX_CLOCK_SKEW_SECONDS)")
    return None


async def dead_letter(message, reason: str) -> None:
    """Park an input we cannot accept, with the reason; never log its content (it may hold
    personal data). The original is kept up to the payload limit."""
    letter = DeadLetter.of(
        event_id=derived_id("dead-letter", message.topic, message.partition, message.offset),
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        raw=(message.value or b"")[:settings.max_payload_bytes],
        reason=reason,
        received_at=datetime.now(UTC),
    )
    log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition,
                message.offset, reason)
    await dead_letter_topic.send(key=message.key, value=letter.to_json())
