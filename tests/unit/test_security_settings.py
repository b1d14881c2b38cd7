"""Kafka SASL / TLS and Postgres secrets in the settings: parsing, validation, the client
options built from them, and that no secret ever shows in a repr or an error message."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from streams.security import (
    KafkaSecurityError,
    Secret,
    aiokafka_auth,
    confluent_config,
    faust_credentials,
    redact_url,
    ssl_context,
    validate_kafka_security,
)
from streams.settings import Settings, SettingsError

PASSWORD = "s3cr3t-Pa55word!"
SASL = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "sankalp-worker",
    "KAFKA_SASL_PASSWORD": PASSWORD,
}


def files(tmp_path: Path, *names: str) -> dict[str, Path]:
    out = {}
    for name in names:
        path = tmp_path / name
        path.write_text("-----BEGIN PLACEHOLDER-----\n")
        out[name] = path
    return out


def test_plaintext_by_default_and_nothing_extra_for_the_clients():
    settings = Settings.from_env({})
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert confluent_config(settings) == {"bootstrap.servers": "127.0.0.1:9092",
                                          "security.protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None
    assert aiokafka_auth(settings) == {"security_protocol": "PLAINTEXT"}
    assert ssl_context(settings) is None


def test_sasl_settings_become_librdkafka_and_faust_options():
    settings = Settings.from_env({**SASL, "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext"})
    assert settings.kafka_security_protocol == "SASL_PLAINTEXT"  # case does not matter
    assert confluent_config(settings) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "sankalp-worker",
        "sasl.password": PASSWORD,
    }
    credentials = faust_credentials(settings)
    assert type(credentials).__name__ == "SASLCredentials"
    assert credentials.protocol.value == "SASL_PLAINTEXT"
    assert PASSWORD not in repr(credentials)
    auth = aiokafka_auth(settings)  # what Faust gives aiokafka
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_username"] == "sankalp-worker"
    assert auth["sasl_plain_password"] == PASSWORD
    assert auth["ssl_context"] is None


def test_sasl_ssl_uses_the_ca_file_for_both_client_libraries(tmp_path):
    ca = tmp_path / "ca.pem"
    # A real CA certificate, so Python's ssl module can load it.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=test-ca", "-keyout", str(tmp_path / "ca.key"),
                    "-out", str(ca)], check=True, capture_output=True)
    settings = Settings.from_env({**SASL, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                  "KAFKA_SSL_CA_FILE": str(ca)})
    config = confluent_config(settings)
    assert config["security.protocol"] == "SASL_SSL"
    assert config["ssl.ca.location"] == str(ca)
    context = ssl_context(settings)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "test-ca"),),)]
    credentials = faust_credentials(settings)
    assert credentials.protocol.value == "SASL_SSL"  # Faust switches on the SSL context
    auth = aiokafka_auth(settings)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["ssl_context"].get_ca_certs() == context.get_ca_certs()


def test_ssl_with_a_client_certificate(tmp_path):
    paths = files(tmp_path, "ca.pem", "client.pem", "client.key", "key-password")
    paths["key-password"].write_text("key-pass\n")
    settings = Settings.from_env({
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CA_FILE": str(paths["ca.pem"]),
        "KAFKA_SSL_CERT_FILE": str(paths["client.pem"]),
        "KAFKA_SSL_KEY_FILE": str(paths["client.key"]),
        "KAFKA_SSL_KEY_PASSWORD_FILE": str(paths["key-password"]),
    })
    assert confluent_config(settings) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SSL",
        "ssl.ca.location": str(paths["ca.pem"]),
        "ssl.certificate.location": str(paths["client.pem"]),
        "ssl.key.location": str(paths["client.key"]),
        "ssl.key.password": "key-pass",  # the file's trailing newline is not part of it
    }
    assert "key-pass" not in repr(settings)


def test_passwords_come_from_files(tmp_path):
    (tmp_path / "kafka").write_text(PASSWORD + "\n")
    (tmp_path / "db").write_text("db-pass")
    (tmp_path / "ref-key").write_text("pseudonym-key\n")
    env = {**SASL, "KAFKA_SASL_PASSWORD": "", "KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "kafka"),
           "DATABASE_PASSWORD_FILE": str(tmp_path / "db"),
           "SANKALP_CITIZEN_REF_KEY_FILE": str(tmp_path / "ref-key")}
    settings = Settings.from_env(env)
    assert settings.kafka_sasl_password == Secret(PASSWORD)
    assert settings.database_password.reveal() == "db-pass"
    assert settings.citizen_ref_key == "pseudonym-key"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL must be one of"),
        ({**SASL, "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM must be one of"),
        ({**SASL, "KAFKA_SASL_USERNAME": ""}, "needs KAFKA_SASL_USERNAME"),
        ({**SASL, "KAFKA_SASL_PASSWORD": ""},
         "needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE"),
        ({**SASL, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"},
         "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD set, but KAFKA_SECURITY_PROTOCOL is "
         "PLAINTEXT"),
        ({**SASL, "KAFKA_SSL_CA_FILE": "/etc/hosts"}, r"KAFKA_SSL_CA_FILE set, but .* \(no TLS\)"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_FILE": "/nonexistent/ca.pem"},
         "KAFKA_SSL_CA_FILE: /nonexistent/ca.pem is not a readable file"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERT_FILE": "/etc/hosts"},
         "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEY_PASSWORD": PASSWORD},
         "KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE"),
        ({**SASL, "KAFKA_SASL_PASSWORD_FILE": "/etc/hosts"},
         "set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both"),
        ({**SASL, "KAFKA_SASL_PASSWORD": "", "KAFKA_SASL_PASSWORD_FILE": "/nonexistent/pw"},
         r"KAFKA_SASL_PASSWORD_FILE: cannot read /nonexistent/pw \(No such file"),
        ({"DATABASE_URL": f"postgresql://sink:{PASSWORD}@db/sankalp",
          "DATABASE_PASSWORD": PASSWORD}, "DATABASE_URL carries a password"),
    ],
)
def test_inconsistent_security_settings_are_named_and_never_echo_the_secret(env, message):
    with pytest.raises(SettingsError, match=message) as raised:
        Settings.from_env(env)
    assert PASSWORD not in str(raised.value)


def test_the_kafka_security_check_lives_with_the_clients_and_runs_in_validate():
    validate_kafka_security(Settings())  # PLAINTEXT, nothing else: fine
    unchecked = Settings().with_overrides(kafka_security_protocol="SASL_SSL")  # not validated
    with pytest.raises(KafkaSecurityError, match="SASL_SSL needs KAFKA_SASL_USERNAME"):
        validate_kafka_security(unchecked)
    with pytest.raises(SettingsError, match="SASL_SSL needs KAFKA_SASL_USERNAME"):
        unchecked.validate()


def test_an_empty_or_unreadable_secret_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SettingsError, match=r"DATABASE_PASSWORD_FILE: .* is empty"):
        Settings.from_env({"DATABASE_PASSWORD_FILE": str(empty)})
    with pytest.raises(SettingsError, match=r"cannot read .* \(Is a directory\)"):
        Settings.from_env({"DATABASE_PASSWORD_FILE": str(tmp_path)})


def test_no_secret_in_repr_str_or_format(tmp_path):
    settings = Settings.from_env({
        **SASL,
        "DATABASE_URL": f"postgresql://sink:{PASSWORD}@db:5432/sankalp?sslmode=verify-full",
        "SANKALP_CITIZEN_REF_KEY": "pseudonym-key-42",
    }).with_overrides(database_password=None)
    shown = [repr(settings), str(settings), f"{settings}", f"{settings.kafka_sasl_password}",
             str(settings.kafka_sasl_password), repr(settings.kafka_sasl_password)]
    for text in shown:
        assert PASSWORD not in text
        assert "pseudonym-key-42" not in text
    assert "postgresql://sink:***@db:5432/sankalp?sslmode=verify-full" in repr(settings)
    assert "kafka_sasl_password='***'" in repr(settings)
    assert "kafka_sasl_username='sankalp-worker'" in repr(settings)


def test_a_plain_string_override_is_kept_as_a_secret():
    settings = Settings.from_env(SASL).with_overrides(kafka_sasl_password="other",
                                                      database_password="db")
    assert isinstance(settings.kafka_sasl_password, Secret)
    assert settings.kafka_sasl_password.reveal() == "other"
    assert isinstance(settings.database_password, Secret)
    assert settings == Settings.from_env(SASL).with_overrides(
        kafka_sasl_password=Secret("other"), database_password=Secret("db"))


def test_a_child_process_reads_the_same_settings_secrets_included(tmp_path):
    """Workers and the sink run as child processes with `Settings.to_env()`."""
    (tmp_path / "pw").write_text(PASSWORD)
    settings = Settings.from_env({**SASL, "KAFKA_SASL_PASSWORD": "",
                                  "KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw")})
    env = settings.to_env()
    assert env["KAFKA_SASL_PASSWORD"] == PASSWORD and env["KAFKA_SASL_PASSWORD_FILE"] == ""
    assert env["KAFKA_SSL_CA_FILE"] == ""  # unset stays unset
    assert Settings.from_env(env) == settings
    script = ("from streams.settings import Settings; s = Settings.from_env(); "
              "print(s.kafka_sasl_password.reveal(), s.kafka_security_protocol)")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == [PASSWORD, "SASL_PLAINTEXT"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://sankalp@127.0.0.1:55432/sankalp",
         "postgresql://sankalp@127.0.0.1:55432/sankalp"),
        ("postgresql://sink:pa:ss@db/sankalp", "postgresql://sink:***@db/sankalp"),
        ("postgres://sink:p%40ss@db:5432/x?sslmode=require",
         "postgres://sink:***@db:5432/x?sslmode=require"),
        ("postgresql://db/x?user=sink&password=pw&sslmode=verify-ca",
         "postgresql://db/x?user=sink&password=***&sslmode=verify-ca"),
        ("postgresql://db/x?sslpassword=keypw", "postgresql://db/x?sslpassword=***"),
    ],
)
def test_database_urls_are_redacted_for_logs(url, shown):
    assert redact_url(url) == shown
