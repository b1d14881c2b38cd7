"""PostgreSQL from the machine's own binaries: initdb into a data folder, its own port, TCP only."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from devstack.process import ServiceError, read_pid, say, spawn, terminate, wait_until
from streams.settings import LOCAL_POSTGRES_DB, LOCAL_POSTGRES_USER, local_database_url

SERVICE_USER = "postgres"  # PostgreSQL refuses to run as root; as root we run it as this user


def pg_bin(tool: str) -> str:
    """Find a PostgreSQL server binary: SANKALP_PG_BIN, then PATH, then Debian's layout."""
    configured = os.environ.get("SANKALP_PG_BIN")
    candidates = [Path(configured) / tool] if configured else []
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path))
    candidates += [
        Path(p) for p in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)
    ]
    for path in candidates:
        if path.exists():
            return str(path)
    raise ServiceError(
        f"PostgreSQL's {tool} was not found (Debian: apt-get install postgresql); "
        "or set DATABASE_URL to use an existing server"
    )


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        say(f"creating system user {SERVICE_USER!r} to run PostgreSQL (it refuses to run as root)")
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SERVICE_USER],
            check=True,
        )
    return SERVICE_USER


def _user_can_enter(user: str | None, folder: Path) -> bool:
    if user is None:
        return True
    probe = subprocess.run(["test", "-x", str(folder)], user=user)
    return probe.returncode == 0


@dataclass(frozen=True)
class LocalPostgres:
    home: Path  # <stack_dir>/postgres
    logs: Path
    port: int
    # For tests of the clients' TLS settings: serve TLS with this (certificate, key) ...
    tls: tuple[Path, Path] | None = None
    # ... and replace initdb's pg_hba.conf (which trusts every local connection) by these lines
    hba: tuple[str, ...] | None = None

    @property
    def url(self) -> str:
        return local_database_url(self.port)

    @property
    def pid_file(self) -> Path:
        return self.home / "postgres.pid"

    @property
    def log_file(self) -> Path:
        return self.logs / "postgres.log"

    @property
    def _data_pointer(self) -> Path:
        return self.home / "data-dir"

    def data_dir(self, user: str | None) -> Path:
        """Inside the stack folder when the service user can reach it, else under /var/tmp."""
        if self._data_pointer.exists():
            return Path(self._data_pointer.read_text().strip())
        self.home.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chmod(self.home, 0o755)
        if _user_can_enter(user, self.home):
            chosen = self.home / "data"
        else:
            # e.g. a checkout under /root, which the postgres user cannot enter
            digest = hashlib.sha1(str(self.home.resolve()).encode()).hexdigest()[:10]
            chosen = Path("/var/tmp") / f"sankalp-postgres-{digest}" / "data"
            say(f"{self.home} is not reachable by user {user}; keeping Postgres data in {chosen}")
        self._data_pointer.write_text(f"{chosen}\n")
        return chosen

    def is_running(self) -> bool:
        return read_pid(self.pid_file, "postgres") is not None

    def up(self, timeout: float = 60.0) -> str:
        if self.is_running():
            return self.url
        user = _run_as()
        data = self.data_dir(user)
        if not (data / "PG_VERSION").exists():
            say(f"initialising PostgreSQL data in {data}")
            data.mkdir(parents=True, exist_ok=True)
            if user is not None:
                shutil.chown(data.parent, user)
                shutil.chown(data, user)
            result = subprocess.run(
                [pg_bin("initdb"), "-D", str(data), "-U", LOCAL_POSTGRES_USER, "-A", "trust",
                 "-E", "UTF8", "--no-locale"],
                capture_output=True, text=True, user=user,
            )
            if result.returncode != 0:
                raise ServiceError(f"initdb failed:\n{result.stdout}{result.stderr}")
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                   "-c", "max_connections=200", "-c", "shared_buffers=256MB"]
        if self.tls is not None:
            # PostgreSQL's defaults: server.crt / server.key in the data folder, and a key
            # nobody but the server's user can read (it refuses to start otherwise).
            for source, name in zip(self.tls, ("server.crt", "server.key"), strict=True):
                shutil.copyfile(source, data / name)
                os.chmod(data / name, 0o600)
                if user is not None:
                    shutil.chown(data / name, user)
            options += ["-c", "ssl=on"]
        if self.hba is not None:
            (data / "pg_hba.conf").write_text("".join(f"{line}\n" for line in self.hba))
        say(f"starting PostgreSQL on 127.0.0.1:{self.port}")
        self.logs.mkdir(parents=True, exist_ok=True)
        pid = spawn(
            [pg_bin("postgres"), "-D", str(data), "-p", str(self.port), *options],
            pid_file=self.pid_file, log_file=self.log_file, user=user,
        )
        wait_until(self._accepts_connections, timeout=timeout, what="PostgreSQL",
                   log_file=self.log_file, pid=pid)
        self._ensure_database()
        return self.url

    def _accepts_connections(self) -> bool:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=LOCAL_POSTGRES_USER,
                                dbname="postgres", connect_timeout=2)
        conn.close()
        return True

    def _ensure_database(self) -> None:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=LOCAL_POSTGRES_USER,
                                dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (LOCAL_POSTGRES_DB,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{LOCAL_POSTGRES_DB}"')
        finally:
            conn.close()

    def down(self, grace: float = 30.0) -> None:
        pid = read_pid(self.pid_file, "postgres")
        if pid is None:
            return
        say(f"stopping PostgreSQL (pid {pid})")
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, then exit cleanly.
        terminate(pid, grace=grace, sig=signal.SIGINT)
        self.pid_file.unlink(missing_ok=True)

    def wipe(self) -> None:
        if self.is_running():
            raise ServiceError("PostgreSQL is running; stop it before wiping its data")
        if self._data_pointer.exists():
            data = Path(self._data_pointer.read_text().strip())
            shutil.rmtree(data, ignore_errors=True)
            if data.parent.name.startswith("sankalp-postgres-"):
                shutil.rmtree(data.parent, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    def describe(self) -> list[str]:
        pid = read_pid(self.pid_file, "postgres")
        state = f"running (pid {pid})" if pid else "stopped"
        return [f"postgres: {state} {self.url} log {self.log_file}"]
