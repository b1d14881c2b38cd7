"""Security on real services.

- Kafka with SASL: a broker of its own (KRaft, one node) with a SASL_PLAINTEXT and a
  SASL_SSL listener and a user known to PLAIN and SCRAM; every kind of client the project
  builds from the settings (admin, producer, the directory follower, a Faust worker, the
  Postgres sink, aiokafka with Faust's credentials) authenticates; over TLS both client
  libraries verify the broker against KAFKA_SSL_CA_FILE; a wrong password is refused with
  an authentication error; the password shows in no log.
- Postgres roles: the sink runs as a login role in `sankalp_sink` (migration 0003): its
  rows land, but it can neither change the schema nor read personal data back.
- Postgres TLS: a server of its own with a certificate from a CA made here; libpq verifies
  it (sslmode=verify-ca / verify-full, or PGSSLMODE and friends), the session is encrypted,
  and a password from DATABASE_PASSWORD_FILE logs in without showing up anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from aiokafka.errors import KafkaError as AIOKafkaError
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from core.lifecycle import Context, decide, snapshot
from core.reference import OfficerDirectory, build_officer_directory
from devstack.smoke import run_smoke
from schemas.contacts import CitizenContact
from schemas.events import ComplaintRegistered
from sinks.migrate import migrate
from sinks.postgres import connect
from sinks.postgres_sink import PostgresSink
from streams.admin import delete_topics_with_prefix, ensure_topics
from streams.directory import LiveDirectory, post_of
from streams.producer import EventPublisher
from streams.security import aiokafka_auth, confluent_config
from streams.settings import Settings
from streams.topics import (
    ALL_TOPICS,
    CITIZEN_CONTACTS,
    COMPLAINT_EVENTS,
    COMPLAINT_STATE,
    OFFICER_DIRECTORY,
)

SASL_BASE_PORT = 29092  # PLAINTEXT 29092 (inter-node, readiness), controller 29093
SASL_PORT = 29094  # SASL_PLAINTEXT
SASL_SSL_PORT = 29095
KAFKA_USER = "sankalp-worker"
KAFKA_PASSWORD = "Kafka-Pass-5c1e9d"  # unique enough to grep the logs for
TLS_POSTGRES_PORT = 55442
DB_PASSWORD = "Db-Pass-8b2f4a"


def assert_not_shown(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


# --- Certificates, made at test time ---------------------------------------------------
def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder)
    return folder / f"{name}.crt", folder / f"{name}.key"


def make_server_cert(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 and localhost, signed by `ca`."""
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr", cwd=folder)
    openssl("x509", "-req", "-in", "server.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
            cwd=folder)
    return folder / "server.crt", folder / "server.key"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path] | None:
    """A CA, a server certificate it signed (for 127.0.0.1 and localhost), and another CA
    that signed nothing here; None without the openssl command."""
    if shutil.which("openssl") is None:
        return None
    folder = tmp_path_factory.mktemp("certs")
    ca = make_ca(folder, "sankalp-test-ca")
    server = make_server_cert(folder, ca)
    return {"ca": ca[0], "rogue_ca": make_ca(folder, "someone-else-ca")[0],
            "server_cert": server[0], "server_key": server[1]}


# --- Kafka with SASL ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sasl_kafka(local_stack, tmp_path_factory, certificates) -> Iterator[dict[str, str]]:
    """A one-node KRaft broker whose client listeners require SASL (PLAIN, SCRAM-SHA-*):
    SASL_PLAINTEXT, and SASL_SSL with the test CA's certificate when openssl is there."""
    from devstack.jars import ensure_kafka_jars, kafka_lib_dir
    from devstack.kafka import KafkaCluster, SaslListener
    from devstack.process import ServiceError

    try:
        from devstack.kafka import java_binary

        java_binary()
    except ServiceError:
        pytest.skip("Java is needed to run the SASL-enabled Kafka broker")
    ensure_kafka_jars(local_stack.cache_dir, local_stack.kafka_version)
    home = tmp_path_factory.mktemp("kafka-sasl")
    cluster = KafkaCluster(
        name="kafka-sasl", nodes=1, base_port=SASL_BASE_PORT, home=home, logs=home / "logs",
        libs=kafka_lib_dir(local_stack.cache_dir, local_stack.kafka_version), heap="384m",
        sasl=SaslListener(
            port=SASL_PORT, users=((KAFKA_USER, KAFKA_PASSWORD),), tls_port=SASL_SSL_PORT,
            tls=None if certificates is None else (certificates["server_cert"],
                                                   certificates["server_key"])))
    cluster.up()
    try:
        yield {"SASL_PLAINTEXT": f"127.0.0.1:{SASL_PORT}",
               **({} if certificates is None else {"SASL_SSL": f"127.0.0.1:{SASL_SSL_PORT}"})}
    finally:
        cluster.down()


def secured(test_settings: Settings, folder: Path, **env: str) -> Settings:
    """The test's settings with these security settings, read the way production reads
    them: from the environment, the password from a mounted file."""
    password_file = folder / "kafka-password"
    password_file.write_text(KAFKA_PASSWORD + "\n")
    return Settings.from_env({**test_settings.to_env(), "KAFKA_SASL_USERNAME": KAFKA_USER,
                              "KAFKA_SASL_PASSWORD_FILE": str(password_file), **env})


@pytest.fixture
def sasl_settings(test_settings, sasl_kafka, tmp_path) -> Iterator[Settings]:
    """The test's settings, pointed at the SASL_PLAINTEXT listener."""
    settings = secured(test_settings, tmp_path,
                       KAFKA_BOOTSTRAP_SERVERS=sasl_kafka["SASL_PLAINTEXT"],
                       KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                       KAFKA_SASL_MECHANISM="SCRAM-SHA-512")
    yield settings
    delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.topic_prefix,
                              settings.app_id, settings=settings)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_clients_built_from_the_settings_authenticate(sasl_settings, mechanism, caplog,
                                                      capfd):
    caplog.set_level(logging.DEBUG)
    settings = sasl_settings.with_overrides(kafka_sasl_mechanism=mechanism)
    assert ensure_topics(settings, [OFFICER_DIRECTORY]) == [
        settings.topic(OFFICER_DIRECTORY.name)]  # admin client (streams/admin.py)
    officer = replace(build_officer_directory()[0], officer_id="OFF-TRANSFERRED-IN")
    publisher = EventPublisher(settings)  # producer (streams/producer.py)
    publisher.send(OFFICER_DIRECTORY.name, post_of(officer).post_id, post_of(officer))
    publisher.flush()
    directory = LiveDirectory()  # consumer (streams/directory.py)
    directory.follow(settings)
    try:
        deadline = time.monotonic() + 30
        while directory.updates_applied < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        directory.stop()
    assert directory.updates_applied == 1
    assert delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.topic_prefix,
                                     wait=True, settings=settings) == [
        settings.topic(OFFICER_DIRECTORY.name)]
    out, err = capfd.readouterr()
    assert_not_shown(KAFKA_PASSWORD, caplog.text, out, err, repr(settings))


def test_a_wrong_password_is_refused_with_an_authentication_error(sasl_settings, caplog,
                                                                  capfd):
    wrong = sasl_settings.with_overrides(kafka_sasl_password="Not-The-Password-1")
    errors: list[KafkaError] = []
    admin = AdminClient(confluent_config(wrong) | {"error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    producer = Producer(confluent_config(wrong) | {"error_cb": errors.append})
    deadline = time.monotonic() + 20
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        assert time.monotonic() < deadline, f"no authentication error, only {errors}"
        producer.poll(0.2)
    failure = next(e for e in errors if e.code() == KafkaError._AUTHENTICATION)
    assert "Authentication failed" in failure.str()
    del producer, admin  # no more retries with the wrong password in the background
    # The Faust side (aiokafka with the same credentials mapping) is refused too.
    with pytest.raises(AIOKafkaError) as refused:  # "Unable to bootstrap", after ...
        asyncio.run(aiokafka_start(wrong))
    assert "SaslAuthenticationFailed: Authentication failed" in caplog.text  # ... this
    out, err = capfd.readouterr()
    for text in (out, err, caplog.text, str(refused.value), *(e.str() for e in errors)):
        assert "Not-The-Password-1" not in text and KAFKA_PASSWORD not in text


async def aiokafka_start(settings: Settings) -> None:
    """Start (and stop) an aiokafka producer configured as Faust configures it."""
    from aiokafka import AIOKafkaProducer

    client = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                              request_timeout_ms=10000, **aiokafka_auth(settings))
    try:
        await client.start()
    finally:
        await client.stop()


def aiokafka_round_trip(settings: Settings, topic: str) -> bytes:
    """Produce one message and read it back with aiokafka, configured exactly as Faust
    configures it for `broker_credentials`."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def round_trip() -> bytes:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    **aiokafka_auth(settings))
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"escalated over SASL", key=b"HP-1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers,
                                    group_id=f"{settings.app_id}-reader",
                                    auto_offset_reset="earliest", **aiokafka_auth(settings))
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()
        return message.value

    return asyncio.run(round_trip())


def test_aiokafka_with_faust_credentials_round_trips(sasl_settings):
    from agents.worker import create_app

    settings = sasl_settings
    credentials = create_app(settings).conf.broker_credentials
    assert credentials.username == KAFKA_USER and credentials.mechanism.value == "SCRAM-SHA-512"
    ensure_topics(settings, [COMPLAINT_EVENTS])
    assert aiokafka_round_trip(settings, settings.topic(COMPLAINT_EVENTS.name)) == (
        b"escalated over SASL")


def test_sasl_over_tls_verifies_the_broker_for_both_client_libraries(
        test_settings, sasl_kafka, certificates, tmp_path, caplog, capfd):
    if "SASL_SSL" not in sasl_kafka:
        pytest.skip("the openssl command is needed to make the broker's certificate")
    settings = secured(test_settings, tmp_path,
                       KAFKA_BOOTSTRAP_SERVERS=sasl_kafka["SASL_SSL"],
                       KAFKA_SECURITY_PROTOCOL="SASL_SSL",
                       KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
                       KAFKA_SSL_CA_FILE=str(certificates["ca"]))
    try:
        ensure_topics(settings, [COMPLAINT_EVENTS])  # confluent-kafka: librdkafka's TLS
        topic = settings.topic(COMPLAINT_EVENTS.name)
        assert aiokafka_round_trip(settings, topic) == b"escalated over SASL"  # Python's ssl
        from agents.worker import create_app

        assert create_app(settings).conf.broker_credentials.protocol.value == "SASL_SSL"
        # A broker whose certificate the configured CA did not sign is not talked to.
        errors: list[KafkaError] = []
        stranger = settings.with_overrides(kafka_ssl_ca_file=certificates["rogue_ca"])
        admin = AdminClient(confluent_config(stranger) | {"error_cb": errors.append})
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=5)
        deadline = time.monotonic() + 10
        while not any(e.code() == KafkaError._SSL for e in errors):
            assert time.monotonic() < deadline, f"no TLS error, only {errors}"
            admin.poll(0.2)  # error callbacks are served here
        del admin
        assert "certificate verify failed" in next(
            e for e in errors if e.code() == KafkaError._SSL).str()
        with pytest.raises(AIOKafkaError):
            asyncio.run(aiokafka_start(stranger))
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    finally:
        delete_topics_with_prefix(settings.kafka_bootstrap_servers, settings.topic_prefix,
                                  settings=settings)
    out, err = capfd.readouterr()
    assert_not_shown(KAFKA_PASSWORD, out, err)


CTX = Context(directory=OfficerDirectory(build_officer_directory()))


def one_complaint(cid: str, phone: str = "9816000001") -> list[tuple[str, str, object]]:
    """What the pipeline publishes for one registered complaint: its state, its events and
    the caller's contact."""
    decision = decide(None, ComplaintRegistered(
        event_id=f"{cid}-r", complaint_id=cid, occurred_at=datetime(2026, 3, 2, 4, 30, tzinfo=UTC),
        channel="portal", category="drinking_water_supply", district="Mandi", block="Gohar",
        text="पानी नहीं आ रहा", citizen_ref="ref-1"), CTX)
    return [(COMPLAINT_STATE.name, cid, snapshot(decision.state)),
            *((COMPLAINT_EVENTS.name, cid, e) for e in decision.events),
            (CITIZEN_CONTACTS.name, cid, CitizenContact(
                complaint_id=cid, citizen_ref="ref-1", citizen_phone=phone,
                citizen_name="राम लाल"))]


def publish(settings: Settings, records) -> None:
    publisher = EventPublisher(settings)
    for topic, key, record in records:
        publisher.send(topic, key, record)
    publisher.flush()


def count(url: str, sql: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_a_worker_and_the_sink_run_on_the_sasl_cluster(sasl_settings, pg_url, caplog, capfd):
    """A Faust worker (a child process reading the settings from its environment), the
    smoke run's producer and consumer, and the Postgres sink's consumer and admin client."""
    caplog.set_level(logging.DEBUG)
    settings = sasl_settings.with_overrides(database_url=pg_url)
    assignment = run_smoke(settings, timeout=90)
    assert assignment["department"] == "Jal Shakti"
    worker_log = (settings.stack_dir / "logs" / "worker-smoke.log").read_text()
    assert "Worker ready" in worker_log

    ensure_topics(settings, ALL_TOPICS)
    conn = connect(pg_url)
    migrate(conn)
    conn.close()
    publish(settings, one_complaint("HP-SASL-1"))
    sink = PostgresSink(settings, gauge_every=0.2, lag_every=0.5)
    sink.run(idle_exit_after=3.0)
    assert count(pg_url, "SELECT count(*) FROM complaint_current") == 1
    assert count(pg_url, "SELECT count(*) FROM citizen_contact") == 1
    out, err = capfd.readouterr()
    assert_not_shown(KAFKA_PASSWORD, worker_log, caplog.text, out, err)


# --- Postgres roles ----------------------------------------------------------------------
def url_as(url: str, user: str) -> str:
    """The same database URL, logged in as `user` (no password: the local stack trusts
    loopback connections; authentication itself is the TLS test's business)."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}").geturl()


@pytest.fixture
def sink_login(services) -> Iterator[str]:
    """A login role that is a member of sankalp_sink, as an operator would create it."""
    name = f"t_sink_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(services.database_url)
    admin.autocommit = True
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


def test_the_sink_role_writes_rows_but_cannot_alter_the_schema_or_read_contacts(
        test_settings, pg_url, pg_schema, sink_login):
    ensure_topics(test_settings, ALL_TOPICS)
    owner = connect(pg_url)
    migrate(owner)
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f'CREATE ROLE "{sink_login}" LOGIN IN ROLE sankalp_sink')
    sink_url = url_as(pg_url, sink_login)
    settings = test_settings.with_overrides(database_url=sink_url)
    try:
        publish(settings, one_complaint("HP-ROLE-1") + one_complaint("HP-ROLE-2"))
        PostgresSink(settings, gauge_every=0.2).run(idle_exit_after=3.0)
        # A later contact record replaces the first (the update path, still without reading).
        publish(settings, one_complaint("HP-ROLE-1", phone="9816000099")[-1:])
        PostgresSink(settings, gauge_every=0.2).run(idle_exit_after=3.0)
        with owner.cursor() as cur:
            cur.execute("SELECT complaint_id, status FROM complaint_current ORDER BY 1")
            assert cur.fetchall() == [("HP-ROLE-1", "assigned"), ("HP-ROLE-2", "assigned")]
            cur.execute("SELECT complaint_id, citizen_phone FROM citizen_contact ORDER BY 1")
            assert cur.fetchall() == [("HP-ROLE-1", "9816000099"), ("HP-ROLE-2", "9816000001")]
            cur.execute("SELECT count(*) FROM complaint_event")
            assert cur.fetchone()[0] >= 2

        sink_conn = psycopg2.connect(sink_url)
        sink_conn.autocommit = True
        try:
            forbidden = [
                "DROP TABLE complaint_current",
                "ALTER TABLE complaint_current ADD COLUMN note text",
                "CREATE TABLE stolen (phone text)",
                "TRUNCATE complaint_event",
                "DELETE FROM complaint_current",
                "SELECT citizen_phone FROM citizen_contact",
                "SELECT citizen_name FROM citizen_contact",
                "SELECT * FROM citizen_contact",
                "UPDATE complaint_event SET event_type = 'x'",
                "INSERT INTO schema_migration (version, name) VALUES (999, 'x')",
            ]
            with sink_conn.cursor() as cur:
                for sql in forbidden:
                    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                        cur.execute(sql)
                cur.execute("SELECT count(*) FROM complaint_current")  # what the gauges read
                assert cur.fetchone() == (2,)
        finally:
            sink_conn.close()
        # The reporting role still reads reports and still cannot read personal data.
        with owner.cursor() as cur:
            cur.execute("SET ROLE sankalp_reporting")
            cur.execute("SELECT sum(pending) FROM report_pending_by_level_age")
            assert cur.fetchone() == (2,)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT citizen_phone FROM citizen_contact")
            cur.execute("RESET ROLE")
    finally:
        with owner.cursor() as cur:
            # The role's grants live in the test schema (dropped by its fixture); only its
            # membership is left to go with the role.
            cur.execute(f'REVOKE sankalp_sink FROM "{sink_login}"')
        owner.close()


def test_migrating_twice_in_two_schemas_keeps_one_sink_role(services, pg_url, pg_schema):
    """CREATE ROLE is per cluster, the migrations per schema: 0003 runs in every schema."""
    conn = connect(pg_url)
    try:
        migrate(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT rolcanlogin, rolcreaterole, rolsuper FROM pg_roles "
                        "WHERE rolname = 'sankalp_sink'")
            assert cur.fetchall() == [(False, False, False)]
            cur.execute("SELECT has_schema_privilege('sankalp_sink', %s, 'USAGE'), "
                        "has_schema_privilege('sankalp_sink', %s, 'CREATE')",
                        (pg_schema, pg_schema))
            assert cur.fetchone() == (True, False)
        conn.rollback()
    finally:
        conn.close()


# --- Postgres over TLS -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_postgres(tmp_path_factory, certificates) -> Iterator[dict[str, str]]:
    """PostgreSQL that accepts TLS connections only: the project's user by trust, any other
    with a SCRAM password."""
    if certificates is None:
        pytest.skip("the openssl command is needed to make the test certificates")
    from devstack.postgres import LocalPostgres

    home = tmp_path_factory.mktemp("pg-tls")
    pg = LocalPostgres(home=home / "pg", logs=home / "logs", port=TLS_POSTGRES_PORT,
                       tls=(certificates["server_cert"], certificates["server_key"]),
                       hba=("hostssl all sankalp 127.0.0.1/32 trust",
                            "hostssl all all 127.0.0.1/32 scram-sha-256"))
    url = pg.up()
    try:
        yield {"url": url, "ca": str(certificates["ca"]),
               "rogue_ca": str(certificates["rogue_ca"])}
    finally:
        pg.down()
        pg.wipe()


def encryption(conn) -> tuple[bool, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return cur.fetchone()


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_libpq_verifies_the_server_and_encrypts(tls_postgres, mode):
    url = f"{tls_postgres['url']}?sslmode={mode}&sslrootcert={tls_postgres['ca']}"
    conn = connect(url)
    try:
        ssl_on, version = encryption(conn)
        assert ssl_on is True and version.startswith("TLSv1.")
    finally:
        conn.close()


def test_a_server_from_another_ca_or_without_tls_is_refused(tls_postgres):
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        connect(f"{tls_postgres['url']}?sslmode=verify-ca&sslrootcert={tls_postgres['rogue_ca']}")
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        connect(f"{tls_postgres['url']}?sslmode=disable")


def test_the_pgssl_environment_variables_are_honoured(tls_postgres, monkeypatch):
    """DATABASE_URL can stay a plain URL; libpq reads PGSSLMODE / PGSSLROOTCERT itself."""
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    monkeypatch.setenv("PGSSLROOTCERT", tls_postgres["rogue_ca"])
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        connect(tls_postgres["url"])
    monkeypatch.setenv("PGSSLROOTCERT", tls_postgres["ca"])
    conn = connect(tls_postgres["url"])
    try:
        assert encryption(conn)[0] is True
    finally:
        conn.close()


def test_the_sink_logs_in_with_a_password_file_over_tls(tls_postgres, tmp_path, caplog,
                                                        capfd):
    caplog.set_level(logging.DEBUG)
    user = f"sink_{uuid.uuid4().hex[:6]}"
    owner = connect(tls_postgres["url"])
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{DB_PASSWORD}'")
    owner.autocommit = False
    migrate(owner)  # as the owner: the tables, and the sankalp_sink role
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f'GRANT sankalp_sink TO "{user}"')
    tls = f"sslmode=verify-full&sslrootcert={tls_postgres['ca']}"
    url = f"{url_as(tls_postgres['url'], user)}?{tls}"
    try:
        password_file = tmp_path / "db-password"
        password_file.write_text(DB_PASSWORD + "\n")
        settings = Settings.from_env({"DATABASE_URL": url,
                                      "DATABASE_PASSWORD_FILE": str(password_file)})
        conn = connect(settings.database_url, settings.database_password)
        try:
            assert encryption(conn)[0] is True
            with conn.cursor() as cur:
                cur.execute("SELECT current_user")
                assert cur.fetchone() == (user,)
        finally:
            conn.close()
        wrong = settings.with_overrides(database_password="Not-The-Db-Password")
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed") \
                as refused:
            connect(wrong.database_url, wrong.database_password)
        assert "Not-The-Db-Password" not in str(refused.value)

        # The sink, with the password in the URL this time: its log shows the URL redacted.
        in_url = url.replace(f"//{user}@", f"//{user}:{DB_PASSWORD}@")
        sink = PostgresSink(Settings.from_env({"DATABASE_URL": in_url}), gauge_every=0.2)
        sink.refresh_gauges()  # connects, reads complaint_current and lapse as sankalp_sink
        assert f"//{user}:***@127.0.0.1:{TLS_POSTGRES_PORT}" in caplog.text
        sink._conn.close()
        out, err = capfd.readouterr()
        assert_not_shown(DB_PASSWORD, caplog.text, out, err, repr(settings),
                         repr(sink.settings))
    finally:
        with owner.cursor() as cur:
            cur.execute(f'DROP OWNED BY "{user}"')
            cur.execute(f'DROP ROLE "{user}"')
        owner.close()
