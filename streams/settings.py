"""The one settings object of the project, read from the environment (12-factor).

Every process (worker, sink, CLI, tests) builds its configuration from here. Each setting is
declared once, as a field of `Settings` made by `setting(...)`: its environment name, its
default, a one-line description and its group in the reference. `ENV_NAMES`, `SECRETS`, the
parser and `docs/settings.md` (`python -m streams.settings`) are all derived from those
declarations. The environment is read in `Settings.from_env` and nowhere else.
"""

# `setting(...)` returns a dataclasses.field (with metadata), not a shared default value.
# ruff: noqa: RUF009

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from streams.security import (
    PROTOCOLS,
    REDACTED,
    SASL_MECHANISMS,
    KafkaSecurityError,
    Secret,
    redact_url,
    validate_kafka_security,
)

__all__ = [
    "DOC_PATH",
    "GROUPS",
    "LOCAL_CLUSTER_BASE_PORT",
    "LOCAL_KAFKA_PORT",
    "LOCAL_POSTGRES_DB",
    "LOCAL_POSTGRES_PORT",
    "LOCAL_POSTGRES_USER",
    "PROTOCOLS",
    "REDACTED",
    "SASL_MECHANISMS",
    "Secret",
    "Settings",
    "SettingsError",
    "local_database_url",
    "redact_url",
    "setting",
    "settings_markdown",
    "write_settings_doc",
]

LOCAL_KAFKA_PORT = 9092
LOCAL_CLUSTER_BASE_PORT = 19092
LOCAL_POSTGRES_PORT = 55432
LOCAL_POSTGRES_USER = "sankalp"
LOCAL_POSTGRES_DB = "sankalp"

# The generated reference (see `settings_markdown`), kept next to the code it describes.
DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def local_database_url(port: int = LOCAL_POSTGRES_PORT) -> str:
    return f"postgresql://{LOCAL_POSTGRES_USER}@127.0.0.1:{port}/{LOCAL_POSTGRES_DB}"


class SettingsError(ValueError):
    """A setting in the environment cannot be used; the message names it."""


# The sections of the reference, in order, each with a line saying what its settings are for.
GROUPS: dict[str, str] = {
    "Kafka": "The brokers and the topics the project declares on them.",
    "Kafka security": (
        "SASL and TLS for every Kafka client the project builds (`streams/security.py`); "
        "an inconsistent combination is refused at start."),
    "Worker": "The Faust workers (and, where said, the Postgres sink).",
    "Time and working calendar": "How the pipeline tells time and which days count for SLAs.",
    "Intake and hostile input": "Rules applied to complaints and commands as they arrive.",
    "Lifecycle policy": "Escalation, reopening, call-back and verification rules.",
    "Postgres": "The sink's database.",
    "Metrics": "Prometheus text format at `/metrics`.",
    "API": "`sankalp api`: Open311 intake and status, and the officers' API (docs/api.md).",
    "Local stack": "Only used when the project starts its own Kafka, Postgres and Prometheus.",
}


def setting(env: str, default: Any = MISSING, *, doc: str, group: str, secret: bool = False,
            default_factory: Any = MISSING, shown_default: str | None = None) -> Any:
    """A field of `Settings`: read from `env`, described by `doc` in the reference under
    `group`. A secret may come from the file `<env>_FILE` names and is never shown.
    `shown_default` replaces the default in the reference when the value alone says less."""
    if group not in GROUPS:
        raise ValueError(f"{env}: unknown settings group {group!r}")
    metadata = {"env": env, "doc": doc, "group": group, "secret": secret,
                "shown_default": shown_default}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _one_of(values: tuple[str, ...]) -> str:
    quoted = [f"`{v}`" for v in values]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _env(name: str, env: Mapping[str, str]) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else None


KAFKA, SECURITY, WORKER, TIME = "Kafka", "Kafka security", "Worker", "Time and working calendar"
INTAKE, POLICY, POSTGRES = "Intake and hostile input", "Lifecycle policy", "Postgres"
METRICS, STACK = "Metrics", "Local stack"


@dataclass(frozen=True, repr=False)  # our __repr__ leaves secrets out
class Settings:
    kafka_bootstrap_servers: str = setting(
        "KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{LOCAL_KAFKA_PORT}", group=KAFKA,
        doc="brokers, comma-separated")
    kafka_security_protocol: str = setting(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", group=SECURITY,
        doc=f"{_one_of(PROTOCOLS)} (any case)")
    kafka_sasl_mechanism: str = setting(
        "KAFKA_SASL_MECHANISM", "PLAIN", group=SECURITY,
        doc=f"{_one_of(SASL_MECHANISMS)}; used with `SASL_*`")
    kafka_sasl_username: str = setting(
        "KAFKA_SASL_USERNAME", "", group=SECURITY, shown_default="none",
        doc="needed with `SASL_*`, refused without")
    kafka_sasl_password: Secret | None = setting(
        "KAFKA_SASL_PASSWORD", None, group=SECURITY, secret=True,
        doc="needed with `SASL_*`, refused without")
    kafka_ssl_ca_file: Path | None = setting(
        "KAFKA_SSL_CA_FILE", None, group=SECURITY, shown_default="the system's trust store",
        doc="the CA (PEM) that signed the brokers' certificates; `SSL` or `SASL_SSL` only")
    kafka_ssl_cert_file: Path | None = setting(
        "KAFKA_SSL_CERT_FILE", None, group=SECURITY,
        doc="a client certificate (PEM), for brokers that require one; needs "
            "`KAFKA_SSL_KEY_FILE`")
    kafka_ssl_key_file: Path | None = setting(
        "KAFKA_SSL_KEY_FILE", None, group=SECURITY,
        doc="the client certificate's private key (PEM)")
    kafka_ssl_key_password: Secret | None = setting(
        "KAFKA_SSL_KEY_PASSWORD", None, group=SECURITY, secret=True,
        doc="the private key's passphrase")
    app_id: str = setting(
        "SANKALP_APP_ID", "sankalp", group=KAFKA,
        doc="Faust application id (consumer group, changelog topic prefix)")
    topic_prefix: str = setting(
        "SANKALP_TOPIC_PREFIX", "", group=KAFKA,
        doc="prefix for every declared topic (isolates environments and tests)")
    topic_partitions: int = setting(
        "SANKALP_TOPIC_PARTITIONS", 6, group=KAFKA,
        doc="partitions of complaint topics and tables (co-partitioned); at least 1")
    topic_replication_factor: int = setting(
        "SANKALP_TOPIC_REPLICATION_FACTOR", 1, group=KAFKA,
        doc="replicas of every declared topic; use 3 on a real cluster")
    table_store: str = setting(
        "SANKALP_TABLE_STORE", "rocksdb://", group=WORKER,
        doc="Faust table store URL; `memory://` only for unit tests")
    table_memory_mb: int = setting(
        "SANKALP_TABLE_MEMORY_MB", 8, group=WORKER,
        doc="RocksDB memory per table partition, in MiB: the size of each of its two write "
            "buffers and of its block cache (Faust's defaults, 64 MiB x 3 and 2 GiB, would "
            "let a worker's memory grow with its open complaints)")
    consumer_max_fetch_mb: int = setting(
        "SANKALP_CONSUMER_MAX_FETCH_MB", 16, group=WORKER,
        doc="how much a worker fetches per partition at once, in MiB (Faust's "
            "`consumer_max_fetch_size`): with Faust's default, 1 MiB, a worker rebuilding "
            "200,000 open complaints from their changelogs took 54 s, with 16 MiB 39 s")
    worker_data_dir: Path = setting(
        "SANKALP_WORKER_DATA_DIR", Path(".stack/worker"), group=WORKER,
        doc="a worker's local table store; keep it on a persistent volume")
    log_level: str = setting(
        "SANKALP_LOG_LEVEL", "info", group=WORKER,
        doc="log level of the worker and the sink")
    database_url: str = setting(
        "DATABASE_URL", default_factory=local_database_url, group=POSTGRES,
        doc="a `postgresql://` URL; TLS options in the URL or `PGSSL*` (README, \"Security\")")
    database_password: Secret | None = setting(
        "DATABASE_PASSWORD", None, group=POSTGRES, secret=True,
        doc="the Postgres password, handed to libpq apart from `DATABASE_URL` (which must "
            "then carry none)")
    stack_dir: Path = setting(
        "SANKALP_STACK_DIR", Path(".stack"), group=STACK,
        doc="data and logs of the local Kafka and Postgres")
    cache_dir: Path = setting(
        "SANKALP_CACHE_DIR", Path(".cache"), group=STACK,
        doc="downloads kept between runs (the Kafka jars)")
    kafka_version: str = setting(
        "SANKALP_KAFKA_VERSION", "4.1.1", group=STACK,
        doc="version of the local broker")
    kafka_heap: str = setting(
        "SANKALP_KAFKA_HEAP", "512m", group=STACK,
        doc="JVM heap of the local broker")
    # --- the local Prometheus (devstack/prometheus.py): `sankalp stack up` and the demo ----
    prometheus_port: int = setting(
        "SANKALP_PROMETHEUS_PORT", 9090, group=STACK,
        doc="port of the local Prometheus (on 127.0.0.1) that `sankalp stack up` and the "
            "demo start; `0`: none")
    prometheus_bin: str = setting(
        "SANKALP_PROMETHEUS_BIN", "prometheus", group=STACK,
        doc="the Prometheus server binary (Debian's `prometheus` package)")
    clock: str = setting(
        "SANKALP_CLOCK", "wall", group=TIME,
        doc="`wall` in production; `event`: time follows the events' own timestamps "
            "(watermarks), so a month of SLA behaviour replays in seconds (tests, replays)")
    commit_interval_seconds: float = setting(
        "SANKALP_COMMIT_INTERVAL_SECONDS", 0.1, group=WORKER,
        doc="how often a worker commits its offsets (Faust's `broker_commit_interval`); the "
            "messages it sent for those events are published at that commit, so this is "
            "also their added delay")
    session_timeout_seconds: float = setting(
        "SANKALP_SESSION_TIMEOUT_SECONDS", 15.0, group=WORKER,
        doc="how soon a crashed worker's (or sink's) partitions move to another")
    tick_interval_seconds: float = setting(
        "SANKALP_TICK_INTERVAL_SECONDS", 0.2, group=TIME,
        doc="how often the deadline timer looks for due complaints; positive")
    weekly_offs: str = setting(
        "SANKALP_WEEKLY_OFFS", "6", group=TIME, shown_default="`6` (Sunday)",
        doc="weekly days off, comma-separated, 0 (Monday) to 6 (Sunday); `none` = no weekly "
            "off (calendar of Asia/Kolkata)")
    holidays: str = setting(
        "SANKALP_HOLIDAYS", "", group=TIME, shown_default="none",
        doc="holidays, `YYYY-MM-DD,…`")
    metrics_port: int = setting(
        "SANKALP_METRICS_PORT", 9109, group=METRICS,
        doc="the worker's metrics port; `0` turns it off")
    sink_metrics_port: int = setting(
        "SANKALP_SINK_METRICS_PORT", 9108, group=METRICS,
        doc="the sink's metrics port; `0` turns it off")
    citizen_ref_key: str = setting(
        "SANKALP_CITIZEN_REF_KEY", "change-me-in-production", group=INTAKE, secret=True,
        doc="key of the caller pseudonym: **set a secret in production**")
    duplicate_window_days: int = setting(
        "SANKALP_DUPLICATE_WINDOW_DAYS", 7, group=INTAKE,
        doc="a caller's complaint matching one they registered (category, district, block) "
            "within this many days is a duplicate, linked to it")
    caller_daily_limit: int = setting(
        "SANKALP_CALLER_DAILY_LIMIT", 5, group=INTAKE,
        doc="complaints registered per caller per day (IST); more are refused as limited")
    sla_warning_fractions: str = setting(
        "SANKALP_SLA_WARNING_FRACTIONS", "0.5,0.75", group=POLICY,
        doc="SLA warnings at these shares of the time limit, comma-separated, each "
            "between 0 and 1")
    transfer_cap: int = setting(
        "SANKALP_TRANSFER_CAP", 2, group=POLICY,
        doc="transfers before a complaint goes to district level")
    max_reopens: int = setting(
        "SANKALP_MAX_REOPENS", 2, group=POLICY,
        doc="appeals after closure a citizen may make")
    callback_max_attempts: int = setting(
        "SANKALP_CALLBACK_MAX_ATTEMPTS", 3, group=POLICY,
        doc="call-back attempts before the unreachable rule applies")
    callback_retry_minutes: int = setting(
        "SANKALP_CALLBACK_RETRY_MINUTES", 120, group=POLICY,
        doc="minutes between call-back attempts")
    unreachable_rule: str = setting(
        "SANKALP_UNREACHABLE_RULE", "await_citizen", group=POLICY,
        doc="after the last failed call-back: `await_citizen` (SLA paused) or "
            "`return_to_officer` (back to the officer with a fresh time limit)")
    state_reminder_hours: int = setting(
        "SANKALP_STATE_REMINDER_HOURS", 24, group=POLICY,
        doc="level 4 has no level above: a complaint overdue there is reminded this often")
    verification_sample_rate: float = setting(
        "SANKALP_VERIFICATION_SAMPLE_RATE", 0.1, group=POLICY,
        doc="share of closed complaints offered for a CM / minister check call (0 to 1)")
    max_payload_bytes: int = setting(
        "SANKALP_MAX_PAYLOAD_BYTES", 65536, group=INTAKE,
        doc="larger inputs are dead-lettered (the dead letter keeps this much of the "
            "original); at least 1024")
    max_clock_skew_seconds: float = setting(
        "SANKALP_MAX_CLOCK_SKEW_SECONDS", 300.0, group=INTAKE,
        doc="wall time: commands dated further ahead of the worker's clock are dead-lettered")
    held_command_max_age_minutes: float = setting(
        "SANKALP_HELD_COMMAND_MAX_AGE_MINUTES", 1440.0, group=WORKER,
        doc="a command that arrives before its complaint's registration is held this long "
            "after its `occurred_at`, then dead-lettered as for no registered complaint")
    held_commands_per_partition: int = setting(
        "SANKALP_HELD_COMMANDS_PER_PARTITION", 10000, group=WORKER,
        doc="commands held for their registration per partition of the commands topic; "
            "one more is dead-lettered at once")
    kafka_wait_seconds: float = setting(
        "SANKALP_KAFKA_WAIT_SECONDS", 0.0, group=WORKER,
        doc="how long a worker or the sink waits for Kafka and its topics before exiting "
            "with code 2; `0` = for ever")
    stall_seconds: float = setting(
        "SANKALP_STALL_SECONDS", 30.0, group=WORKER,
        doc="an input partition with a backlog and no commit for this long is resumed from "
            "its committed offset (warning, `sankalp_worker_partition_stalls_total`)")

    # --- `sankalp api` (api/): Open311 intake and status, the officers' API -----------------
    api_host: str = setting(
        "SANKALP_API_HOST", "127.0.0.1", group="API",
        doc="address `sankalp api` listens on (`0.0.0.0` behind a load balancer)")
    api_port: int = setting(
        "SANKALP_API_PORT", 8080, group="API",
        doc="port `sankalp api` listens on")
    api_keys_file: Path | None = setting(
        "SANKALP_API_KEYS_FILE", None, group="API", shown_default="none (intake refuses all)",
        doc="the channels' API keys (a mounted secret): one `client channel key [rate]` per "
            "line; re-read when it changes, never logged")
    officer_keys_file: Path | None = setting(
        "SANKALP_OFFICER_KEYS_FILE", None, group="API",
        shown_default="none (no officer can sign in)",
        doc="the keys that sign officers' tokens (a mounted secret): one `key_id secret` per "
            "line; every listed key verifies, the signing one is `SANKALP_OFFICER_KEY_ID`")
    officer_key_id: str = setting(
        "SANKALP_OFFICER_KEY_ID", "", group="API", shown_default="the file's first key",
        doc="the key id `sankalp officer token` signs with (rotation: docs/api.md)")
    officer_token_hours: float = setting(
        "SANKALP_OFFICER_TOKEN_HOURS", 12.0, group="API",
        doc="how long an officer's token is valid; the API refuses tokens issued for longer")
    api_max_body_bytes: int = setting(
        "SANKALP_API_MAX_BODY_BYTES", 16384, group="API",
        doc="larger request bodies get 413; at most `SANKALP_MAX_PAYLOAD_BYTES` minus 2 KiB")
    api_rate_per_second: float = setting(
        "SANKALP_API_RATE_PER_SECOND", 50.0, group="API",
        doc="requests per second one API key or officer post may make, per API process (a "
            "key's own rate in the keys file wins); more get 429")
    api_rate_burst: int = setting(
        "SANKALP_API_RATE_BURST", 100, group="API",
        doc="requests one key may make at once before its rate applies")
    api_kafka_timeout_seconds: float = setting(
        "SANKALP_API_KAFKA_TIMEOUT_SECONDS", 5.0, group="API",
        doc="how long a POST waits for Kafka's acknowledgement before answering 503")

    # Derived from the declarations above (assigned below the class): the environment name
    # of each field, and the fields that are secrets. A secret may instead be read from the
    # file named by <ENV NAME>_FILE (e.g. a mounted Kubernetes secret), and none is ever
    # shown by repr() or in an error message.
    ENV_NAMES: ClassVar[dict[str, str]]
    SECRETS: ClassVar[frozenset[str]]

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
            if f.metadata["secret"] and value is not None:
                value = REDACTED
            elif f.name == "database_url":
                value = redact_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings in `env` (default: this process's environment), checked. The one
        place the environment is read."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            raw = _env(name, env)
            if f.metadata["secret"]:
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
        if self.consumer_max_fetch_mb < 1:
            raise SettingsError("SANKALP_CONSUMER_MAX_FETCH_MB must be at least 1")
        if self.table_memory_mb < 1:
            raise SettingsError("SANKALP_TABLE_MEMORY_MB must be at least 1")
        if not self.table_store.endswith("://"):
            raise SettingsError(
                "SANKALP_TABLE_STORE must be a Faust store URL such as rocksdb:// or memory://"
            )
        if not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("DATABASE_URL must be a postgresql:// URL")
        if self.database_password is not None and _url_has_password(self.database_url):
            raise SettingsError("DATABASE_URL carries a password and DATABASE_PASSWORD(_FILE) "
                                "is set too; give the password one way")
        try:
            validate_kafka_security(self)
        except KafkaSecurityError as exc:
            raise SettingsError(str(exc)) from None
        if self.clock not in ("wall", "event"):
            raise SettingsError("SANKALP_CLOCK must be 'wall' or 'event'")
        if self.tick_interval_seconds <= 0:
            raise SettingsError("SANKALP_TICK_INTERVAL_SECONDS must be positive")
        if self.max_payload_bytes < 1024:
            raise SettingsError("SANKALP_MAX_PAYLOAD_BYTES must be at least 1024")
        if self.held_command_max_age_minutes <= 0 or self.held_commands_per_partition < 0:
            raise SettingsError(
                "SANKALP_HELD_COMMAND_MAX_AGE_MINUTES must be positive and "
                "SANKALP_HELD_COMMANDS_PER_PARTITION cannot be negative")
        if self.max_clock_skew_seconds < 0 or self.kafka_wait_seconds < 0:
            raise SettingsError(
                "SANKALP_MAX_CLOCK_SKEW_SECONDS and SANKALP_KAFKA_WAIT_SECONDS cannot be negative")
        try:
            self.policy()
            self.calendar()
        except ValueError as exc:
            raise SettingsError(f"lifecycle settings: {exc}") from None

    def to_env(self) -> dict[str, str]:
        """The environment that makes a child process read exactly these settings. It holds
        the secrets in clear: for a child's environment only, never for a log."""
        env: dict[str, str] = {}
        for f in fields(self):
            name = f.metadata["env"]
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = value.reveal()
            env[name] = "" if value is None else str(value)  # empty means unset
            if f.metadata["secret"]:
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


Settings.ENV_NAMES = {f.name: f.metadata["env"] for f in fields(Settings)}
Settings.SECRETS = frozenset(f.name for f in fields(Settings) if f.metadata["secret"])


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


# The reference, docs/settings.md, generated from the declarations above.

_DOC_INTRO = """\
# Settings reference

Generated from the declarations in `streams/settings.py` by `python -m streams.settings`;
do not edit it by hand (`tests/unit/test_settings_doc.py` fails when the two disagree).

- **Environment only (12-factor).** Every process (worker, sink, CLI, tests) reads its
  settings from environment variables, in `Settings.from_env`: there is no settings file.
  An unset or empty variable means the default.
- **Secrets from files.** A secret may instead be read from the file its `<NAME>_FILE`
  variable names (a mounted Kubernetes or Docker secret; a trailing newline is dropped);
  setting both is an error. Secrets never show in `repr()`, logs or error messages.
- **Checked at start.** A value that cannot be used stops every `sankalp` command before it
  does anything, with a one-line message naming the variable and exit code 2.
"""


def _shown_default(f: Field[Any]) -> str:
    shown = f.metadata["shown_default"]
    if shown is not None:
        return shown
    value = f.default if f.default_factory is MISSING else f.default_factory()
    if value is None:
        return "none"
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_markdown() -> str:
    """docs/settings.md: the intro, then one table per group (variable, default, what it
    does), every field of `Settings` in declaration order within its group."""
    lines = [_DOC_INTRO.rstrip("\n")]
    for group, about in GROUPS.items():
        members = [f for f in fields(Settings) if f.metadata["group"] == group]
        if not members:
            continue
        lines += ["", f"## {group}", "", about, "",
                  "| variable | default | what it does |", "|---|---|---|"]
        for f in members:
            name = f.metadata["env"]
            variable = f"`{name}`"
            if f.metadata["secret"]:
                variable += f" (secret; or `{name}_FILE`)"
            lines.append(f"| {_cell(variable)} | {_cell(_shown_default(f))} "
                         f"| {_cell(f.metadata['doc'])} |")
    return "\n".join(lines) + "\n"


def write_settings_doc(path: Path = DOC_PATH) -> Path:
    """Write the generated reference to `path` (docs/settings.md) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings_markdown(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m streams.settings: regenerate docs/settings.md
    print(write_settings_doc(), file=sys.stdout)
