"""A live uvicorn server on a scratch database, for tests that need real HTTP (the audit, logs)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from core.settings import PROJECT_ROOT
from tests.support import child_environment

STARTUP_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str, redis_url: str, log_file: Path, **env: str) -> Iterator[str]:
    """`python server.py serve` in a child process; yields its base URL. Its output goes to `log_file`,
    so a test can read what the server logged."""
    port = _free_port()
    environment = child_environment(
        **{
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SEED_DEMO_ON_START": "false",
            "LOG_LEVEL": "INFO",
            # A job worker beside each test server only where a test asks for one (tests/jobs/ do).
            "JOB_WORKER_IN_SERVER": "false",
            **env,
        }
    )
    # The real command line: its logging set-up (one format for uvicorn's lines and ours) is under test.
    command = [sys.executable, "server.py", "serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_file.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def live_server(scratch_db_url: str, services: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with serve(scratch_db_url, services["redis_url"], tmp_path / "server.log") as base:
        yield base
