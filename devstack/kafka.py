"""Apache Kafka in KRaft mode (combined broker + controller nodes) on loopback.

One node for everyday work and tests; three nodes (replication factor 3,
min.insync.replicas=2) for fault-tolerance tests.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from confluent_kafka.admin import AdminClient

from devstack.process import (
    ServiceError,
    read_pid,
    say,
    spawn,
    tail,
    terminate_all,
    wait_until,
)

MAIN_CLASS = "kafka.Kafka"


def java_binary() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServiceError("Java 17+ is needed to run the local Kafka broker (set JAVA_HOME)")
    return found


SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class SaslListener:
    """An extra client listener that requires SASL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512,
    unencrypted) with these users, for tests of the clients' security settings; with `tls`
    (certificate, key; PEM) a second one on `tls_port` that requires the same over TLS
    (SASL_SSL). The nodes still talk to each other, and readiness is still checked, on the
    PLAINTEXT listener."""

    port: int
    users: tuple[tuple[str, str], ...]  # (name, password)
    tls: tuple[Path, Path] | None = None
    tls_port: int = 0

    def __post_init__(self) -> None:
        # Names and passwords go unquoted into JAAS and StorageTool arguments.
        for name, password in self.users:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name + password):
                raise ValueError("SASL test users: letters, digits, '-' and '_' only")


@dataclass(frozen=True)
class KafkaCluster:
    """A set of KRaft nodes sharing one cluster id, described by where it lives and its ports."""

    name: str
    nodes: int
    base_port: int
    home: Path  # <stack_dir>/<name>
    logs: Path  # <stack_dir>/logs
    libs: Path
    heap: str = "512m"
    sasl: SaslListener | None = None  # single node only

    # --- addresses -------------------------------------------------------------------
    def broker_port(self, node_id: int) -> int:
        return self.base_port + 2 * (node_id - 1)

    def controller_port(self, node_id: int) -> int:
        return self.broker_port(node_id) + 1

    @property
    def node_ids(self) -> range:
        return range(1, self.nodes + 1)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{self.broker_port(n)}" for n in self.node_ids)

    # --- files -----------------------------------------------------------------------
    def node_dir(self, node_id: int) -> Path:
        return self.home / f"node-{node_id}"

    def pid_file(self, node_id: int) -> Path:
        return self.home / f"node-{node_id}.pid"

    def log_file(self, node_id: int) -> Path:
        return self.logs / f"{self.name}-{node_id}.log"

    def _properties(self, node_id: int) -> str:
        replicated = self.nodes >= 3
        rf = 3 if replicated else 1
        min_isr = 2 if replicated else 1
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.broker_port(node_id)},"
            f"CONTROLLER://127.0.0.1:{self.controller_port(node_id)}"
        )
        protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        if self.sasl is not None:
            if self.nodes != 1:
                raise ServiceError("a SASL listener is only supported on a single node")
            listeners += f",SASL_PLAINTEXT://127.0.0.1:{self.sasl.port}"
            protocols += ",SASL_PLAINTEXT:SASL_PLAINTEXT"
            if self.sasl.tls is not None:
                listeners += f",SASL_SSL://127.0.0.1:{self.sasl.tls_port}"
                protocols += ",SASL_SSL:SASL_SSL"
        lines = {
            "process.roles": "broker,controller",
            "node.id": node_id,
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": protocols,
            "log.dirs": self.node_dir(node_id) / "data",
            # Topics are created on purpose (`sankalp topics create`, Faust's own internal
            # topics); a typo must fail loudly instead of making a one-partition topic.
            "auto.create.topics.enable": "false",
            "num.partitions": 1,
            "default.replication.factor": rf,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "unclean.leader.election.enable": "false",
            # Test-friendly: no 3 s wait before the first rebalance, small cleaner buffer.
            "group.initial.rebalance.delay.ms": 0,
            "log.cleaner.dedupe.buffer.size": 4 * 1024 * 1024,
            "log.cleaner.threads": 1,
            "num.network.threads": 2,
            "num.io.threads": 4,
        }
        if self.nodes == 1:
            lines["controller.quorum.bootstrap.servers"] = (
                f"127.0.0.1:{self.controller_port(node_id)}"
            )
        else:
            lines["controller.quorum.voters"] = ",".join(
                f"{n}@127.0.0.1:{self.controller_port(n)}" for n in self.node_ids
            )
        if self.sasl is not None:
            lines.update(self._sasl_properties(self.sasl, "sasl_plaintext"))
            if self.sasl.tls is not None:
                lines.update(self._sasl_properties(self.sasl, "sasl_ssl"))
                lines["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
                lines["listener.name.sasl_ssl.ssl.keystore.location"] = self._keystore(node_id)
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    @staticmethod
    def _sasl_properties(sasl: SaslListener, listener: str) -> dict[str, str]:
        """PLAIN users live in the listener's JAAS line; SCRAM users in the cluster metadata
        (written when the storage is formatted, see `_format`)."""
        prefix = f"listener.name.{listener}"
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in sasl.users)
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        return {
            f"{prefix}.sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
            f"{prefix}.plain.sasl.jaas.config":
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
            f"{prefix}.scram-sha-256.sasl.jaas.config": scram,
            f"{prefix}.scram-sha-512.sasl.jaas.config": scram,
        }

    def _keystore(self, node_id: int) -> Path:
        """The TLS listener's PEM keystore: the private key, then the certificate."""
        return self.node_dir(node_id) / "keystore.pem"

    def _java(self, node_id: int, main: str, *args: str) -> list[str]:
        log4j = resources.files("devstack.resources").joinpath("log4j2.properties")
        return [
            java_binary(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.log.file={self.log_file(node_id)}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    # --- lifecycle -------------------------------------------------------------------
    def running_pids(self) -> dict[int, int | None]:
        return {n: read_pid(self.pid_file(n), MAIN_CLASS) for n in self.node_ids}

    def is_running(self) -> bool:
        return all(pid is not None for pid in self.running_pids().values())

    def _format(self, node_id: int, cluster_id: str) -> None:
        config = self.node_dir(node_id) / "server.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(self._properties(node_id))
        if self.sasl is not None and self.sasl.tls is not None:
            certificate, key = self.sasl.tls
            self._keystore(node_id).write_text(key.read_text() + certificate.read_text())
            self._keystore(node_id).chmod(0o600)
        if (self.node_dir(node_id) / "data" / "meta.properties").exists():
            return
        args = ["format", "-t", cluster_id, "-c", str(config)]
        if self.nodes == 1:
            args.append("--standalone")
        for name, password in self.sasl.users if self.sasl is not None else ():
            for mechanism in SASL_MECHANISMS[1:]:
                args += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
        result = subprocess.run(
            self._java(node_id, "kafka.tools.StorageTool", *args),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"formatting Kafka storage for {self.name} node {node_id} failed:\n"
                f"{result.stdout}{result.stderr}"
            )

    def _cluster_id(self) -> str:
        id_file = self.home / "cluster.id"
        if id_file.exists():
            return id_file.read_text().strip()
        # KRaft cluster ids are 16 random bytes in URL-safe base64 without padding.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.home.mkdir(parents=True, exist_ok=True)
        id_file.write_text(cluster_id + "\n")
        return cluster_id

    def up(self, timeout: float = 120.0) -> str:
        """Start every node that is not running and wait for all brokers to answer metadata."""
        cluster_id = self._cluster_id()
        started: list[tuple[int, int]] = []
        for node_id, pid in self.running_pids().items():
            if pid is not None:
                continue
            self._format(node_id, cluster_id)
            say(f"starting {self.name} node {node_id} on 127.0.0.1:{self.broker_port(node_id)}")
            new_pid = spawn(
                self._java(
                    node_id, MAIN_CLASS, str(self.node_dir(node_id) / "server.properties")
                ),
                pid_file=self.pid_file(node_id),
                log_file=self.logs / f"{self.name}-{node_id}.out",
            )
            started.append((node_id, new_pid))
        for node_id, pid in started:
            pid_file = self.pid_file(node_id)
            wait_until(
                lambda pid_file=pid_file: read_pid(pid_file, MAIN_CLASS),
                timeout=10,
                what=f"{self.name} node {node_id}",
                log_file=self.logs / f"{self.name}-{node_id}.out",
                pid=pid,
            )
        self.wait_ready(timeout)
        return self.bootstrap_servers

    def wait_ready(self, timeout: float) -> None:
        """Ready means a metadata request lists every broker of the cluster."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})

        def all_brokers_listed() -> bool:
            metadata = admin.list_topics(timeout=2)
            return len(metadata.brokers) == self.nodes

        wait_until(
            all_brokers_listed,
            timeout=timeout,
            what=f"Kafka ({self.name}, {self.nodes} broker(s))",
            log_file=self.log_file(1),
        )

    def down(self, grace: float = 30.0) -> None:
        running = {n: pid for n, pid in self.running_pids().items() if pid is not None}
        for node_id, pid in running.items():
            say(f"stopping {self.name} node {node_id} (pid {pid})")
        terminate_all(list(running.values()), grace=grace)
        for node_id in self.node_ids:
            self.pid_file(node_id).unlink(missing_ok=True)

    def wipe(self) -> None:
        """Delete all data (the cluster must be down)."""
        if any(pid is not None for pid in self.running_pids().values()):
            raise ServiceError(f"{self.name} is running; stop it before wiping its data")
        shutil.rmtree(self.home, ignore_errors=True)

    def describe(self) -> list[str]:
        rows = []
        for node_id, pid in self.running_pids().items():
            state = f"running (pid {pid})" if pid else "stopped"
            rows.append(
                f"{self.name} node {node_id}: {state} 127.0.0.1:{self.broker_port(node_id)} "
                f"log {self.log_file(node_id)}"
            )
        return rows

    def log_tail(self, node_id: int = 1) -> str:
        return tail(self.log_file(node_id))
