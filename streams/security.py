"""Kafka and Postgres security from the settings: SASL and TLS options for every Kafka
client, secrets that never print themselves, and database URLs fit for a log.

Every Kafka client in the project is built from `confluent_config` (confluent-kafka) or
`faust_credentials` (the Faust workers, i.e. aiokafka), so a cluster that needs SASL_SSL is
a handful of environment variables away and no call site carries its own copy of the
options. These are pure functions of the settings; nothing here opens a connection.
`validate_kafka_security` is the check `Settings.validate()` runs on these settings at start.
"""

from __future__ import annotations

import hmac
import os
import re
import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # settings.py imports this module; the reverse is only for type hints
    from faust.types.auth import CredentialsT

    from streams.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
REDACTED = "***"


class Secret:
    """A password or key. `repr`, `str` and f-strings show ***; only `reveal()` gives the
    value, and that is called where a client is built, never where something is logged."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        # Constant time, as for any comparison of secrets.
        return isinstance(other, Secret) and hmac.compare_digest(
            self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(secret: Secret | None) -> str | None:
    return None if secret is None else secret.reveal()


# The password of a postgresql:// URL (user:password@host), and password / sslpassword
# query parameters. The user-info match is greedy up to the last '@': if that ever takes
# more than the password, the log shows less, never the secret.
_URL_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*):.*@")
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for logs and messages."""
    url = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", url)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['key']}{REDACTED}", url)


def uses_sasl(protocol: str) -> bool:
    return protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def uses_tls(protocol: str) -> bool:
    return protocol in ("SSL", "SASL_SSL")


class KafkaSecurityError(ValueError):
    """A Kafka security combination the clients would misuse (Settings.validate turns it
    into a SettingsError: one line, exit code 2)."""


def validate_kafka_security(settings: Settings) -> None:
    """Refuse (naming the variables) a Kafka security combination the clients would
    misuse: an unknown protocol or mechanism, SASL without its credentials, credentials or
    certificate files a protocol would ignore, half a client certificate, an unreadable
    file. Never puts a secret in the message."""

    protocol = settings.kafka_security_protocol
    if protocol not in PROTOCOLS:
        raise KafkaSecurityError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                            f"got {protocol!r}")
    credentials = [n for n, v in (("KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                                  ("KAFKA_SASL_PASSWORD", settings.kafka_sasl_password))
                   if v]
    if uses_sasl(protocol):
        if settings.kafka_sasl_mechanism not in SASL_MECHANISMS:
            raise KafkaSecurityError(f"KAFKA_SASL_MECHANISM must be one of "
                                f"{', '.join(SASL_MECHANISMS)}, "
                                f"got {settings.kafka_sasl_mechanism!r}")
        if not settings.kafka_sasl_username:
            raise KafkaSecurityError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs "
                                "KAFKA_SASL_USERNAME")
        if not settings.kafka_sasl_password:
            raise KafkaSecurityError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs "
                                "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE")
    elif credentials:
        # Credentials without SASL would be ignored and the client would connect without
        # authenticating: say so rather than guess.
        raise KafkaSecurityError(f"{' and '.join(credentials)} set, but KAFKA_SECURITY_PROTOCOL "
                            f"is {protocol}; use SASL_SSL (or SASL_PLAINTEXT)")
    files = {"KAFKA_SSL_CA_FILE": settings.kafka_ssl_ca_file,
             "KAFKA_SSL_CERT_FILE": settings.kafka_ssl_cert_file,
             "KAFKA_SSL_KEY_FILE": settings.kafka_ssl_key_file}
    given = [name for name, path in files.items() if path is not None]
    if settings.kafka_ssl_key_password is not None:
        given.append("KAFKA_SSL_KEY_PASSWORD")
    if not uses_tls(protocol):
        if given:
            raise KafkaSecurityError(f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL is "
                                f"{protocol} (no TLS); use SSL or SASL_SSL")
        return
    if (settings.kafka_ssl_cert_file is None) != (settings.kafka_ssl_key_file is None):
        raise KafkaSecurityError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together "
                            "(a client certificate and its private key)")
    if settings.kafka_ssl_key_password is not None and settings.kafka_ssl_key_file is None:
        raise KafkaSecurityError("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE")
    for name, path in files.items():
        if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
            raise KafkaSecurityError(f"{name}: {path} is not a readable file")


def confluent_config(settings: Settings) -> dict[str, Any]:
    """librdkafka options for a Producer, Consumer or AdminClient: the brokers and their
    security. Callers add their own options: `confluent_config(s) | {"group.id": ...}`."""
    protocol = settings.kafka_security_protocol
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": protocol,
    }
    if uses_sasl(protocol):
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = reveal(settings.kafka_sasl_password)
    if uses_tls(protocol):
        # Without a CA file librdkafka uses the system's trust store, as Python's ssl does.
        # Broker host names are verified (librdkafka's default since 2.0).
        files = {
            "ssl.ca.location": settings.kafka_ssl_ca_file,
            "ssl.certificate.location": settings.kafka_ssl_cert_file,
            "ssl.key.location": settings.kafka_ssl_key_file,
        }
        config.update({k: str(v) for k, v in files.items() if v is not None})
        if settings.kafka_ssl_key_password is not None:
            config["ssl.key.password"] = settings.kafka_ssl_key_password.reveal()
    return config


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for aiokafka (Faust): the CA to trust and the client certificate,
    or None when the protocol has no TLS."""
    if not uses_tls(settings.kafka_security_protocol):
        return None
    ca = settings.kafka_ssl_ca_file
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=None if ca is None else str(ca))
    if settings.kafka_ssl_cert_file is not None:
        context.load_cert_chain(
            str(settings.kafka_ssl_cert_file),
            None if settings.kafka_ssl_key_file is None else str(settings.kafka_ssl_key_file),
            password=reveal(settings.kafka_ssl_key_password),
        )
    return context


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """`broker_credentials` for faust.App; Faust hands them to every aiokafka producer,
    consumer and admin client it makes (see `aiokafka_auth`)."""
    from faust.auth import SASLCredentials, SSLCredentials

    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    if uses_sasl(protocol):
        # With an SSL context Faust picks SASL_SSL, without one SASL_PLAINTEXT.
        return SASLCredentials(
            username=settings.kafka_sasl_username,
            password=reveal(settings.kafka_sasl_password),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if protocol == "SSL":
        return SSLCredentials(context)
    return None


def aiokafka_auth(settings: Settings) -> dict[str, Any]:
    """The keyword arguments Faust passes to aiokafka's clients for these settings (its own
    mapping, so a plain aiokafka client here behaves exactly as a worker does)."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    return dict(credentials_to_aiokafka_auth(faust_credentials(settings)))
