"""What the handlers share within one API process: settings, keys, rate limits, the
producer, the Postgres reads, the post holders and the metrics. Nothing here is state a
second replica would need: keys come from files, holders from the directory topic, the rest
is connections and counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.errors import ApiError
from api.kafka import AsyncPublisher
from api.keys import (
    Client,
    KeyFileError,
    WatchedFile,
    key_digest,
    parse_channel_keys,
    parse_signing_keys,
)
from api.posts import PostHolders
from api.ratelimit import RateLimiter
from api.store import Store
from streams.settings import Settings, SettingsError

# Room the submission's envelope (ids, timestamps, field names) takes beyond the body.
ENVELOPE_BYTES = 2048


def check_settings(settings: Settings) -> None:
    """The API's settings, checked before it starts (SettingsError names the variable)."""
    if not 0 < settings.api_port < 65536:
        raise SettingsError("SANKALP_API_PORT must be between 1 and 65535")
    if not 1024 <= settings.api_max_body_bytes <= settings.max_payload_bytes - ENVELOPE_BYTES:
        raise SettingsError(
            "SANKALP_API_MAX_BODY_BYTES must be at least 1024 and at most "
            f"SANKALP_MAX_PAYLOAD_BYTES - {ENVELOPE_BYTES} "
            f"({settings.max_payload_bytes - ENVELOPE_BYTES}): the workers must accept "
            "whatever the API accepts")
    if settings.api_rate_per_second <= 0 or settings.api_rate_burst < 1:
        raise SettingsError("SANKALP_API_RATE_PER_SECOND must be positive and "
                            "SANKALP_API_RATE_BURST at least 1")
    if settings.api_kafka_timeout_seconds < 1:
        raise SettingsError("SANKALP_API_KAFKA_TIMEOUT_SECONDS must be at least 1")
    if settings.officer_token_hours <= 0:
        raise SettingsError("SANKALP_OFFICER_TOKEN_HOURS must be positive")


def load_keys(settings: Settings) -> tuple[WatchedFile, WatchedFile]:
    """(channel keys, officer signing keys); SettingsError if a file cannot be used."""
    try:
        channels = WatchedFile(settings.api_keys_file, parse_channel_keys, {},
                               "channel keys")
        officers = WatchedFile(settings.officer_keys_file, parse_signing_keys, {},
                               "officer keys")
    except KeyFileError as exc:
        raise SettingsError(f"API keys: {exc}") from None
    if settings.officer_key_id and settings.officer_key_id not in officers.value:
        raise SettingsError(f"SANKALP_OFFICER_KEY_ID {settings.officer_key_id!r} is not in "
                            "SANKALP_OFFICER_KEYS_FILE")
    return channels, officers


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # Labels: the route's pattern (not the path), the method, the status: bounded.
        self.requests = Counter("sankalp_api_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "sankalp_api_request_seconds", "time to answer a request", ["route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.submitted = Counter("sankalp_api_complaints_submitted",
                                 "complaints acknowledged by Kafka, by channel client",
                                 ["client"], registry=self.registry)
        self.commands = Counter("sankalp_api_officer_commands",
                                "officer commands acknowledged by Kafka, by action",
                                ["action"], registry=self.registry)


@dataclass
class ApiContext:
    settings: Settings
    channel_keys: WatchedFile
    officer_keys: WatchedFile
    limiter: RateLimiter
    publisher: AsyncPublisher
    store: Store
    holders: PostHolders
    metrics: Metrics
    started: float = field(default_factory=time.monotonic)

    def client(self, api_key: object) -> Client:
        """The client an API key belongs to: 401 without a key, 403 with an unknown one."""
        if api_key is None or api_key == "":
            raise ApiError(401, "api_key is required (a channel's key, issued by the "
                                "helpline's operators)")
        if not isinstance(api_key, str):
            raise ApiError(400, "api_key: must be a string")
        found = self.channel_keys.value.get(key_digest(api_key))
        if found is None:
            raise ApiError(403, "api_key is not valid")
        return found

    def limit(self, key: str, rate: float | None = None) -> None:
        """429 with Retry-After when `key` has used up its rate."""
        wait = self.limiter.retry_after(key, rate)
        if wait:
            raise ApiError(429, f"too many requests; retry after {wait} s",
                           {"Retry-After": str(wait)})


CONTEXT: web.AppKey[ApiContext] = web.AppKey("sankalp", ApiContext)
