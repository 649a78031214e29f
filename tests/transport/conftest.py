"""A live uvicorn server on a scratch database, for tests that need real HTTP (the audit, logs)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from core.settings import PROJECT_ROOT
from tests.support import child_environment, delete_keys

STARTUP_TIMEOUT_S = 30
SERVE = [sys.executable, "server.py", "serve", "--no-seed", "--host", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str, redis_url: str, log_file: Path, **env: str) -> Iterator[str]:
    """`python server.py serve` in a child process; yields its base URL. Its output goes to `log_file`,
    so a test can read what the server logged."""
    with serve_many(database_url, redis_url, [log_file], **env) as (base,):
        yield base


@contextmanager
def serve_many(database_url: str, redis_url: str, log_files: list[Path], **env: str) -> Iterator[list[str]]:
    """One server per log file, all started at once (a start is mostly imports: two overlap well on
    two cores); yields their base URLs once every one answers /healthz. Unless the test names a
    REDIS_KEY_PREFIX (to share or read keys), they get one of their own, deleted after they stop."""
    own_prefix = "REDIS_KEY_PREFIX" not in env
    prefix = env.get("REDIS_KEY_PREFIX") or f"test:{uuid.uuid4().hex}:"
    environment = child_environment(
        **{
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "SEED_DEMO_ON_START": "false",
            "LOG_LEVEL": "INFO",
            # A job worker beside each test server only where a test asks for one (tests/jobs/ do).
            "JOB_WORKER_IN_SERVER": "false",
            # No load balancer watches a test's server: in production mode it would answer 503 on
            # /readyz for 5 s before it stops (tests/transport/test_drain.py tests that delay).
            "DRAIN_READY_DELAY_S": "0",
            **env,
        }
    )
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for log_file in log_files:
            port = free_port()
            # The real command line: its logging set-up (one format for uvicorn's lines and ours) is
            # under test.
            command = [*SERVE, "--port", str(port)]
            with log_file.open("wb") as log:
                process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=log)
            started.append((process, f"http://127.0.0.1:{port}", log_file))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for process, base, log_file in started:
            wait_up(process, base, log_file, deadline=deadline)
        yield [base for _, base, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            process.wait(timeout=20)
        if own_prefix:
            delete_keys(redis_url, prefix)


def wait_up(
    process: subprocess.Popen[bytes], base: str, log_file: Path, *, deadline: float, path: str = "/healthz"
) -> None:
    """Until `base` answers `path` with 200; fails with the server's log if it exits or the deadline
    passes first (waiting is bounded, never asserted on)."""
    while True:
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start:\n{log_file.read_text(errors='replace')}")
        time.sleep(0.2)


@pytest.fixture
def live_server(scratch_db_url: str, services: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with serve(scratch_db_url, services["redis_url"], tmp_path / "server.log") as base:
        yield base
