"""Detached service processes tracked by pid files, so `stack down` finds them from any shell."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service could not be started or stopped; the message says where to look."""


def say(message: str) -> None:
    """Progress for long-running commands; flushed so it shows under `make` and pytest -s."""
    print(f"[stack] {message}", flush=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def read_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in pid_file if that process is alive and still ours (guards against pid reuse)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    cmdline = _cmdline(pid)
    if not cmdline or marker not in cmdline:
        return None
    # A zombie has a cmdline of "" on Linux, but check state too for safety.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return None
    return None if state == "Z" else pid


def spawn(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> int:
    """Start a service in its own session (so it outlives the CLI) with output to log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def _alive(pid: int) -> bool:
    """True while the process runs; reaps it if it is our own exited child."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    if state == "Z":
        # It exited between the waitpid above and now; reap it so no zombie is left.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return False
    return True


def terminate(pid: int, *, grace: float, sig: int = signal.SIGTERM) -> None:
    terminate_all([pid], grace=grace, sig=sig)


def terminate_all(pids: list[int], *, grace: float, sig: int = signal.SIGTERM) -> None:
    """Signal every process group at once, then kill what is still there after `grace` s.

    At once matters for a KRaft cluster: stopped one by one, the last controller loses its
    quorum and waits forever for a controlled shutdown that cannot complete.
    """
    groups: dict[int, int] = {}
    for pid in pids:
        try:
            groups[pid] = os.getpgid(pid)
            os.killpg(groups[pid], sig)
        except ProcessLookupError:
            groups.pop(pid, None)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in groups):
        time.sleep(0.1)
    for pid, pgid in groups.items():
        if not _alive(pid):
            continue
        say(f"process {pid} did not stop within {grace:.0f}s; killing it")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        while _alive(pid):
            time.sleep(0.05)


def wait_until(check, *, timeout: float, what: str, log_file: Path, pid: int | None = None):
    """Poll `check()` until it returns a truthy value; fail with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if pid is not None and not _alive(pid):
            raise ServiceError(f"{what} exited during start-up.\n{tail(log_file)}")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # readiness probes raise while the service boots
            last_error = exc
        time.sleep(0.2)
    raise ServiceError(
        f"{what} was not ready within {timeout:.0f}s (last error: {last_error}).\n{tail(log_file)}"
    )


def tail(log_file: Path, lines: int = 25) -> str:
    try:
        text = log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {log_file})"
    return f"--- last lines of {log_file} ---\n" + "\n".join(text)
