"""The Faust application, built from the settings in the environment.

Agents in `agents/` attach to this module-level app (Faust's decorators need one at
import time); a worker process reads its settings once, when it starts.
"""

from __future__ import annotations

import faust

from streams.security import faust_credentials
from streams.settings import Settings
from streams.topics import TopicSpec


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

        autodiscover=False,
    )


settings = Settings.from_env()
app = create_app(settings)


def raw_topic(spec: TopicSpec) -> faust.TopicT:
    """A declared topic as bytes in, bytes out: payloads are parsed (and rejected) by our code,
    never by Faust's serializers, so a malformed event cannot crash an agent."""
    return app.topic(
        settings.topic(spec.name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions_for(settings),
    )
