"""The servers the fault harness owns, so it may kill, freeze and restart them: a redis-server and a
PostgreSQL cluster in temporary directories on free ports (the machine's Debian binaries)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from core.settings import PROJECT_ROOT

REDIS_SERVER = os.environ.get("FAULTS_REDIS_SERVER", "/usr/bin/redis-server")
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
# PostgreSQL refuses to run as root: as root, the cluster belongs to this system user.
PG_OS_USER = os.environ.get("FAULTS_PG_OS_USER", "postgres")


def _as_pg_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", PG_OS_USER, "--", *command] if os.geteuid() == 0 else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, *, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s}s")


class RedisProcess:
    """A redis-server on a fixed port: `kill()` is SIGKILL, `start()` brings it back on the same port
    (empty: no persistence), `freeze()`/`thaw()` are SIGSTOP/SIGCONT."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)  # a frozen one would not die until thawed
            self._process.kill()
            self._process.wait()
            self._process = None

    def freeze(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def redis_process() -> Iterator[RedisProcess]:
    running = RedisProcess()
    running.start()
    try:
        yield running
    finally:
        running.kill()


class PostgresCluster:
    """A throwaway cluster (trust auth on loopback) that `pg_ctl` restarts, stops and starts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="ss-faults-pg-"))
        self.data = self.directory / "data"
        self.server_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_pg_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"), "-w", *args]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=PG_OS_USER)
        subprocess.run(
            _as_pg_user(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c max_connections=200"
        options += " -c fsync=off -c synchronous_commit=on"
        (self.directory / "options").write_text(options)
        self.start()

    def start(self) -> None:
        self._pg_ctl("-o", (self.directory / "options").read_text(), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    def restart(self, mode: str) -> None:
        self._pg_ctl("-m", mode, "-o", (self.directory / "options").read_text(), "restart")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.remove()


@contextlib.contextmanager
def api_workers(
    env: dict[str, str], *, workers: int = 2, ready_within_s: float = 120
) -> Iterator[tuple[str, int]]:
    """uvicorn with `workers` processes under its supervisor (which restarts a killed one); yields the
    base URL and the supervisor's pid. Started on a loaded machine, two workers may take a while."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "server:create_app", "--factory", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within_s
        while not _ready(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not become ready (exit code {process.poll()})")
            time.sleep(0.3)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def job_worker(env: dict[str, str]) -> Iterator[int]:
    """`python server.py worker` beside the API: its fold loop turns ingested events into counters."""
    process = subprocess.Popen(
        [sys.executable, "server.py", "worker"], cwd=PROJECT_ROOT, env={**os.environ, **env}
    )
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
