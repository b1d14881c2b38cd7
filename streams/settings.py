"""The one settings object of the project, read from the environment (12-factor).

Every process (worker, sink, CLI, tests) builds its configuration from here, so a
setting has exactly one name, one default and one parser.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from streams.security import (
    PROTOCOLS,
    REDACTED,
    SASL_MECHANISMS,
    Secret,
    redact_url,
    uses_sasl,
    uses_tls,
)

LOCAL_KAFKA_PORT = 9092
LOCAL_CLUSTER_BASE_PORT = 19092
LOCAL_POSTGRES_PORT = 55432
LOCAL_POSTGRES_USER = "sankalp"
LOCAL_POSTGRES_DB = "sankalp"


def local_database_url(port: int = LOCAL_POSTGRES_PORT) -> str:
    return f"postgresql://{LOCAL_POSTGRES_USER}@127.0.0.1:{port}/{LOCAL_POSTGRES_DB}"


class SettingsError(ValueError):
    """A setting in the environment cannot be used; the message names it."""


def _env(name: str, env: Mapping[str, str]) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else None


@dataclass(frozen=True, repr=False)  # our __repr__ leaves secrets out
class Settings:
    # Kafka
    kafka_bootstrap_servers: str = f"127.0.0.1:{LOCAL_KAFKA_PORT}"
    # Kafka security (streams/security.py): PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: Secret | None = None
    kafka_ssl_ca_file: Path | None = None
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None
    kafka_ssl_key_password: Secret | None = None
    app_id: str = "sankalp"
    topic_prefix: str = ""
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    # Faust worker
    table_store: str = "rocksdb://"
    worker_data_dir: Path = Path(".stack/worker")
    log_level: str = "info"
    # Postgres
    database_url: str = field(default_factory=local_database_url)
    # Given to libpq apart from the URL, so a mounted secret file can hold it
    database_password: Secret | None = None
    # Local stack (only used when the project starts its own services)
    stack_dir: Path = Path(".stack")
    cache_dir: Path = Path(".cache")
    kafka_version: str = "4.1.1"
    kafka_heap: str = "512m"
    # Time: "wall" in production; "event" advances with the events' own timestamps, so a
    # month of SLA behaviour replays in seconds (tests, backtests, the simulator).
    clock: str = "wall"
    # How often a worker commits offsets, publishing what it sent since (see streams/app.py)
    commit_interval_seconds: float = 0.1
    # How long the group waits for a crashed worker before giving its partitions away
    session_timeout_seconds: float = 15.0
    tick_interval_seconds: float = 0.2
    # Working-day calendar (Asia/Kolkata): weekly offs (Monday=0 .. Sunday=6), holidays
    weekly_offs: str = "6"
    holidays: str = ""
    # Metrics endpoints (Prometheus text format at /metrics); 0 turns one off
    metrics_port: int = 9109
    sink_metrics_port: int = 9108
    # Intake
    citizen_ref_key: str = "change-me-in-production"
    duplicate_window_days: int = 7
    caller_daily_limit: int = 5
    # Lifecycle policy (defaults from DOMAIN.md)
    sla_warning_fractions: str = "0.5,0.75"
    transfer_cap: int = 2
    max_reopens: int = 2
    callback_max_attempts: int = 3
    callback_retry_minutes: int = 120
    unreachable_rule: str = "await_citizen"
    state_reminder_hours: int = 24
    verification_sample_rate: float = 0.1
    # Hostile input: larger payloads are dead-lettered (a complaint is a few KB at most);
    # commands dated further ahead of the worker's clock than this are refused.
    max_payload_bytes: int = 65536
    max_clock_skew_seconds: float = 300.0
    # A worker started before Kafka is reachable waits this long, retrying (0: for ever)
    kafka_wait_seconds: float = 0.0
    # An input partition with a backlog and no commit for this long is resumed
    stall_seconds: float = 30.0
    # Fault injection for tests, e.g. "sink.before_commit=3" (see streams/failpoints.py)
    failpoints: str = ""

    # name in the environment for each field
    ENV_NAMES: ClassVar[dict[str, str]] = {
        "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
        "kafka_security_protocol": "KAFKA_SECURITY_PROTOCOL",
        "kafka_sasl_mechanism": "KAFKA_SASL_MECHANISM",
        "kafka_sasl_username": "KAFKA_SASL_USERNAME",
        "kafka_sasl_password": "KAFKA_SASL_PASSWORD",
        "kafka_ssl_ca_file": "KAFKA_SSL_CA_FILE",
        "kafka_ssl_cert_file": "KAFKA_SSL_CERT_FILE",
        "kafka_ssl_key_file": "KAFKA_SSL_KEY_FILE",
        "kafka_ssl_key_password": "KAFKA_SSL_KEY_PASSWORD",
        "app_id": "SANKALP_APP_ID",
        "topic_prefix": "SANKALP_TOPIC_PREFIX",
        "topic_partitions": "SANKALP_TOPIC_PARTITIONS",
        "topic_replication_factor": "SANKALP_TOPIC_REPLICATION_FACTOR",
        "table_store": "SANKALP_TABLE_STORE",
        "worker_data_dir": "SANKALP_WORKER_DATA_DIR",
        "log_level": "SANKALP_LOG_LEVEL",
        "database_url": "DATABASE_URL",
        "database_password": "DATABASE_PASSWORD",
        "stack_dir": "SANKALP_STACK_DIR",
        "cache_dir": "SANKALP_CACHE_DIR",
        "kafka_version": "SANKALP_KAFKA_VERSION",
        "kafka_heap": "SANKALP_KAFKA_HEAP",
        "clock": "SANKALP_CLOCK",
        "session_timeout_seconds": "SANKALP_SESSION_TIMEOUT_SECONDS",
        "commit_interval_seconds": "SANKALP_COMMIT_INTERVAL_SECONDS",
        "tick_interval_seconds": "SANKALP_TICK_INTERVAL_SECONDS",
        "weekly_offs": "SANKALP_WEEKLY_OFFS",
        "holidays": "SANKALP_HOLIDAYS",
        "metrics_port": "SANKALP_METRICS_PORT",
        "sink_metrics_port": "SANKALP_SINK_METRICS_PORT",
        "citizen_ref_key": "SANKALP_CITIZEN_REF_KEY",
        "duplicate_window_days": "SANKALP_DUPLICATE_WINDOW_DAYS",
        "caller_daily_limit": "SANKALP_CALLER_DAILY_LIMIT",
        "sla_warning_fractions": "SANKALP_SLA_WARNING_FRACTIONS",
        "transfer_cap": "SANKALP_TRANSFER_CAP",
        "max_reopens": "SANKALP_MAX_REOPENS",
        "callback_max_attempts": "SANKALP_CALLBACK_MAX_ATTEMPTS",
        "callback_retry_minutes": "SANKALP_CALLBACK_RETRY_MINUTES",
        "unreachable_rule": "SANKALP_UNREACHABLE_RULE",
        "state_reminder_hours": "SANKALP_STATE_REMINDER_HOURS",
        "verification_sample_rate": "SANKALP_VERIFICATION_SAMPLE_RATE",
        "max_payload_bytes": "SANKALP_MAX_PAYLOAD_BYTES",
        "max_clock_skew_seconds": "SANKALP_MAX_CLOCK_SKEW_SECONDS",
        "kafka_wait_seconds": "SANKALP_KAFKA_WAIT_SECONDS",
        "failpoints": "SANKALP_FAILPOINTS",
        "stall_seconds": "SANKALP_STALL_SECONDS",
    }
    # Secrets: each may instead be read from the file named by <ENV NAME>_FILE (e.g. a
    # mounted Kubernetes secret), and none is ever shown by repr() or in an error message.
    SECRETS: ClassVar[frozenset[str]] = frozenset({
        "kafka_sasl_password", "kafka_ssl_key_password", "database_password",
        "citizen_ref_key",
    })

    def __post_init__(self) -> None:
        # Code and tests may pass a plain string (with_overrides); keep it wrapped.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and _kind(f.type) == "Secret":
                object.__setattr__(self, f.name, Secret(value))
        for name in ("kafka_security_protocol", "kafka_sasl_mechanism"):
            object.__setattr__(self, name, getattr(self, name).strip().upper())

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self.SECRETS and value is not None:
                value = REDACTED
            elif f.name == "database_url":
                value = redact_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = cls.ENV_NAMES[f.name]
            raw = _env(name, env)
            if f.name in cls.SECRETS:
                raw = _secret(name, raw, _env(f"{name}_FILE", env))
            if raw is None:
                continue
            values[f.name] = _parse(name, raw, f.type)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.topic_partitions < 1:
            raise SettingsError("SANKALP_TOPIC_PARTITIONS must be at least 1")
        if self.topic_replication_factor < 1:
            raise SettingsError("SANKALP_TOPIC_REPLICATION_FACTOR must be at least 1")
        if not self.table_store.endswith("://"):
            raise SettingsError(
                "SANKALP_TABLE_STORE must be a Faust store URL such as rocksdb:// or memory://"
            )
        if not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("DATABASE_URL must be a postgresql:// URL")
        if self.database_password is not None and _url_has_password(self.database_url):
            raise SettingsError("DATABASE_URL carries a password and DATABASE_PASSWORD(_FILE) "
                                "is set too; give the password one way")
        self._validate_kafka_security()
        if self.clock not in ("wall", "event"):
            raise SettingsError("SANKALP_CLOCK must be 'wall' or 'event'")
        if self.tick_interval_seconds <= 0:
            raise SettingsError("SANKALP_TICK_INTERVAL_SECONDS must be positive")
        if self.max_payload_bytes < 1024:
            raise SettingsError("SANKALP_MAX_PAYLOAD_BYTES must be at least 1024")
        if self.max_clock_skew_seconds < 0 or self.kafka_wait_seconds < 0:
            raise SettingsError(
                "SANKALP_MAX_CLOCK_SKEW_SECONDS and SANKALP_KAFKA_WAIT_SECONDS cannot be negative")
        try:
            self.policy()
            self.calendar()
        except ValueError as exc:
            raise SettingsError(f"lifecycle settings: {exc}") from None

    def _validate_kafka_security(self) -> None:
        protocol = self.kafka_security_protocol
        if protocol not in PROTOCOLS:
            raise SettingsError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                                f"got {protocol!r}")
        credentials = [n for n, v in (("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                                      ("KAFKA_SASL_PASSWORD", self.kafka_sasl_password))
                       if v]
        if uses_sasl(protocol):
            if self.kafka_sasl_mechanism not in SASL_MECHANISMS:
                raise SettingsError(f"KAFKA_SASL_MECHANISM must be one of "
                                    f"{', '.join(SASL_MECHANISMS)}, "
                                    f"got {self.kafka_sasl_mechanism!r}")
            if not self.kafka_sasl_username:
                raise SettingsError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs "
                                    "KAFKA_SASL_USERNAME")
            if not self.kafka_sasl_password:
                raise SettingsError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs "
                                    "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE")
        elif credentials:
            # Credentials without SASL would be ignored and the client would connect without
            # authenticating: say so rather than guess.
            raise SettingsError(f"{' and '.join(credentials)} set, but KAFKA_SECURITY_PROTOCOL "
                                f"is {protocol}; use SASL_SSL (or SASL_PLAINTEXT)")
        files = {"KAFKA_SSL_CA_FILE": self.kafka_ssl_ca_file,
                 "KAFKA_SSL_CERT_FILE": self.kafka_ssl_cert_file,
                 "KAFKA_SSL_KEY_FILE": self.kafka_ssl_key_file}
        given = [name for name, path in files.items() if path is not None]
        if self.kafka_ssl_key_password is not None:
            given.append("KAFKA_SSL_KEY_PASSWORD")
        if not uses_tls(protocol):
            if given:
                raise SettingsError(f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL is "
                                    f"{protocol} (no TLS); use SSL or SASL_SSL")
            return
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise SettingsError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together "
                                "(a client certificate and its private key)")
        if self.kafka_ssl_key_password is not None and self.kafka_ssl_key_file is None:
            raise SettingsError("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE")
        for name, path in files.items():
            if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
                raise SettingsError(f"{name}: {path} is not a readable file")

    def to_env(self) -> dict[str, str]:
        """The environment that makes a child process read exactly these settings. It holds
        the secrets in clear: for a child's environment only, never for a log."""
        env: dict[str, str] = {}
        for field_name, name in self.ENV_NAMES.items():
            value = getattr(self, field_name)
            if isinstance(value, Secret):
                value = value.reveal()
            env[name] = "" if value is None else str(value)  # empty means unset
            if field_name in self.SECRETS:
                env[f"{name}_FILE"] = ""  # the value is passed itself; a file would clash
        return env

    def calendar(self):
        from datetime import date

        from core.calendar import WorkingCalendar

        # "none" says "no weekly off" (an empty value would mean "unset": the default)
        spec = "" if self.weekly_offs.strip().lower() == "none" else self.weekly_offs
        try:
            offs = [int(d) for d in spec.split(",") if d.strip()]
        except ValueError:
            raise ValueError("SANKALP_WEEKLY_OFFS: day numbers such as 6, or none") from None
        if any(not 0 <= d <= 6 for d in offs):
            raise ValueError("SANKALP_WEEKLY_OFFS: days are 0 (Monday) to 6 (Sunday)")
        try:
            holidays = [date.fromisoformat(d.strip()) for d in self.holidays.split(",")
                        if d.strip()]
        except ValueError:
            raise ValueError("SANKALP_HOLIDAYS: a comma-separated list of YYYY-MM-DD") from None
        return WorkingCalendar.with_holidays(holidays, weekly_offs=offs)

    def policy(self):
        from datetime import timedelta

        from core.policy import LifecyclePolicy

        if self.unreachable_rule not in ("await_citizen", "return_to_officer"):
            raise ValueError("SANKALP_UNREACHABLE_RULE: await_citizen or return_to_officer")
        try:
            fractions = tuple(float(f) for f in self.sla_warning_fractions.split(",")
                              if f.strip())
        except ValueError:
            raise ValueError("SANKALP_SLA_WARNING_FRACTIONS: numbers such as 0.5,0.75") from None
        return LifecyclePolicy(
            warning_fractions=fractions,
            transfer_cap=self.transfer_cap,
            max_reopens=self.max_reopens,
            callback_max_attempts=self.callback_max_attempts,
            callback_retry_after=timedelta(minutes=self.callback_retry_minutes),
            unreachable_rule=self.unreachable_rule,  # type: ignore[arg-type]
            state_reminder_every=timedelta(hours=self.state_reminder_hours),
            verification_sample_rate=self.verification_sample_rate,
        )

    def topic(self, name: str) -> str:
        """The physical Kafka topic name for a logical one (prefix lets tests isolate)."""
        return f"{self.topic_prefix}{name}"

    def with_overrides(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def _kind(type_name: object) -> str:
    """'int', 'Path', 'Secret', ... from a field's annotation (optional or not)."""
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    return kind.removesuffix(" | None")


def _secret(name: str, raw: str | None, file_name: str | None) -> str | None:
    """A secret from NAME or from the file NAME_FILE names; never echoed in an error."""
    if file_name is None:
        return raw
    if raw is not None:
        raise SettingsError(f"set {name} or {name}_FILE, not both")
    try:
        # Files written with `echo` end in a newline that is not part of the secret.
        value = Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SettingsError(f"{name}_FILE: cannot read {file_name} ({reason})") from None
    if not value:
        raise SettingsError(f"{name}_FILE: {file_name} is empty")
    return value


def _url_has_password(url: str) -> bool:
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def _parse(name: str, raw: str, type_name: object) -> object:
    kind = _kind(type_name)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if kind == "Path":
        return Path(raw)
    if kind == "Secret":
        return Secret(raw)
    return raw

