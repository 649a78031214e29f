"""`python server.py serve` with two uvicorn workers for the live metrics tests: like
tests/transport/conftest.py's `serve`, with a longer wait for /healthz, since two workers import the
app at once on a machine other tests load too (waiting for the server, never a timed assertion)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.settings import PROJECT_ROOT
from tests.support import child_environment, delete_keys
from tests.transport.conftest import free_port, wait_up

STARTUP_TIMEOUT_S = 240
STOP_TIMEOUT_S = 60


@contextmanager
def serve_workers(database_url: str, redis_url: str, log_file: Path, **env: str) -> Iterator[tuple[str, int]]:
    """Yield the base URL and the supervisor's pid. Its Redis keys go under a prefix of its own,
    deleted after it stops."""
    port = free_port()
    prefix = f"test:{uuid.uuid4().hex}:"
    environment = child_environment(
        **{
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "SEED_DEMO_ON_START": "false",
            "JOB_WORKER_IN_SERVER": "false",
            "WORKERS": "2",
            **env,
        }
    )
    command = [sys.executable, "server.py", "serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=log, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(process, base, log_file, deadline=time.monotonic() + STARTUP_TIMEOUT_S)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the workers go too
            process.wait()
        delete_keys(redis_url, prefix)
