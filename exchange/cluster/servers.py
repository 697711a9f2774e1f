"""Local nats-server (JetStream) and PostgreSQL processes, for tests and `make cluster-demo`.

Each server listens on 127.0.0.1 only, keeps its data in a directory it is given, and is ended
by its own PID (`stop` sends SIGTERM/SIGINT and waits, `kill` sends SIGKILL). A killed
nats-server can be started again on the same port and store (`start` after `kill`), which is
what the kill -9 tests do. PostgreSQL refuses to run as root: as root, the cluster directory is
made and owned by the `postgres` user and the server runs as that user (subprocess's `user=`,
which execs postgres itself, so the PID we hold is the postmaster's).

`missing()` names the binaries that are absent, so tests can skip with that reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NATS_BIN = "nats-server"
LOOPBACK = "127.0.0.1"


def missing() -> list[str]:
    """The server binaries this machine lacks (empty: both servers can run)."""
    absent = [] if shutil.which(NATS_BIN) else [NATS_BIN]
    absent += [str(PG_BIN / name) for name in ("initdb", "postgres")
               if not (PG_BIN / name).exists()]
    return absent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Return once 127.0.0.1:`port` accepts connections; RuntimeError if `process` exits or
    the time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port} after {timeout} s")


class NatsServer:
    """A nats-server with JetStream, its store in `directory`, on a fixed loopback port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    def start(self) -> NatsServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "nats.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [NATS_BIN, "-js", "-sd", str(self.directory / "store"), "-a", LOOPBACK,
             "-p", str(self.port), "--no_advertise"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, self.process)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed or closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Postgres:
    """A throwaway PostgreSQL 15 cluster on a loopback port (trust auth, user `postgres`).

    `fsync` off suits tests (the kill tests kill our processes, never the machine); a real
    ledger keeps PostgreSQL's defaults (docs/cluster.md)."""

    def __init__(self, port: int | None = None, fsync: bool = False) -> None:
        self.port = port or free_port()
        self.fsync = fsync
        self.directory = Path(tempfile.mkdtemp(prefix="exchange-pg-"))
        self.process: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/postgres"

    def start(self) -> Postgres:
        user = _run_as()
        data = self.directory / "data"
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        if not data.exists():
            subprocess.run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--no-sync"],
                           check=True, capture_output=True, user=user, group=user)
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.port),
             "-c", f"listen_addresses={LOOPBACK}", "-c", f"unix_socket_directories={self.directory}",
             "-c", f"fsync={'on' if self.fsync else 'off'}",
             "-c", f"synchronous_commit={'on' if self.fsync else 'off'}",
             "-c", "full_page_writes=off" if not self.fsync else "full_page_writes=on"],
            stdout=log, stderr=subprocess.STDOUT, user=user, group=user)
        log.close()
        wait_for_port(self.port, self.process, timeout=30)
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then the directory goes."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _run_as() -> str | None:
    """The user PostgreSQL runs as: `postgres` when we are root (it refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no `postgres` user to run "
                           "PostgreSQL as") from None
    return "postgres"
