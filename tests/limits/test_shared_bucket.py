"""Two server processes sharing one Redis draw from the same bucket."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from core.settings import PROJECT_ROOT
from tests.support import child_environment

STARTUP_TIMEOUT_S = 30
COSTS_TEN = "{ " + " ".join(f"a{i}: __typename" for i in range(10)) + " }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _uvicorn(env: dict[str, str], log_file: Path) -> Iterator[str]:
    """`uvicorn server:create_app --factory` in a child process; yields its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "server:create_app", "--factory", "--port", str(port)]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=child_environment(**env), stdout=log, stderr=log
        )
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


def test_a_bucket_drained_through_one_process_is_empty_in_the_other(
    scratch_db_url: str, services: dict[str, str], redis_prefix: str, tmp_path: Path
) -> None:
    # given two server processes on one Redis, with a bucket of 25 that barely refills
    env = {
        "DATABASE_URL": scratch_db_url,
        "REDIS_URL": services["redis_url"],
        "REDIS_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_BUCKET": "25",
        "RATE_LIMIT_REFILL_PER_SECOND": "0.01",
        "LOG_LEVEL": "WARNING",
    }
    with ExitStack() as stack:
        first, second = (stack.enter_context(_uvicorn(env, tmp_path / f"server{n}.log")) for n in (1, 2))
        # when the same caller spends 20 through the first process
        for _ in range(2):
            served = httpx.post(f"{first}/graphql", json={"query": COSTS_TEN}, timeout=10).json()
            assert "errors" not in served
        # then the second process sees 5 left and refuses a query costing 10
        refused = httpx.post(f"{second}/graphql", json={"query": COSTS_TEN}, timeout=10)
    body = refused.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
    assert refused.headers["retry-after"] == str(body["errors"][0]["extensions"]["retryAfter"])
