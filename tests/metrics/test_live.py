"""/metrics of a real `serve` with two uvicorn workers sharing one METRICS_DIR: samples add up
across workers, client-chosen names stay one series, and a killed worker's live gauges go."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.metrics.live import serve_workers
from tests.metrics.support import parse, series, value

pytestmark = pytest.mark.scratch_db

FLAGS = "query Flags { merchantCategories { name } }"
COUNT = "graphql_operation_duration_seconds_count"
# Waiting on the server's own progress (a worker restarted), never a timed assertion.
DEADLINE_S = 60
FILE_PID = re.compile(r"_(\d+)\.db$")


@pytest.fixture
def metrics_server(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    directory = tmp_path / "metrics"
    log = tmp_path / "server.log"
    with serve_workers(scratch_db_url, services["redis_url"], log, METRICS_DIR=str(directory)) as (base, _):
        yield base, directory


def _pids(directory: Path, prefix: str) -> set[int]:
    found = (FILE_PID.search(p.name) for p in directory.glob(f"{prefix}_*.db"))
    return {int(m.group(1)) for m in found if m}


def _post_fresh(base: str, body: dict[str, object]) -> int:
    # A new connection each: uvicorn's workers accept from one socket, so requests spread over them.
    with httpx.Client(base_url=base, timeout=30) as client:
        return client.post("/graphql", json=body).status_code


def _send(base: str, bodies: list[dict[str, object]]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda b: _post_fresh(base, b), bodies)) == {200}


def _metrics(base: str) -> dict:
    return parse(httpx.get(f"{base}/metrics", timeout=30).text)


def test_counts_add_up_across_both_workers(metrics_server: tuple[str, Path]) -> None:
    base, directory = metrics_server
    sent = 0
    for _ in range(20):  # until both workers have answered some (files of two pids)
        _send(base, [{"query": FLAGS}] * 16)
        sent += 16
        if len(_pids(directory, "histogram")) >= 2:
            break
    assert len(_pids(directory, "histogram")) >= 2
    samples = _metrics(base)
    assert value(samples, COUNT, operation="Flags", type="query") == sent
    assert value(samples, "graphql_sql_statements_count", operation="Flags", type="query") == sent


def test_random_operation_names_are_one_series(metrics_server: tuple[str, Path]) -> None:
    base, _ = metrics_server
    names = [f"Op{uuid.uuid4().hex}" for _ in range(200)]
    _send(base, [{"query": f"query {name} {{ merchantCategories {{ name }} }}"} for name in names])
    samples = _metrics(base)
    operations = {labels["operation"] for labels in series(samples, COUNT)}
    assert operations == {"other"}
    assert value(samples, COUNT, operation="other", type="query") == 200


def test_a_killed_workers_live_gauges_are_dropped(metrics_server: tuple[str, Path]) -> None:
    base, directory = metrics_server
    # Each worker's lifespan wrote its pool gauges; the supervisor's own file (from import) is there too.
    candidates = [pid for pid in _pids(directory, "gauge_livesum") if _is_uvicorn_worker(pid)]
    assert len(candidates) == 2
    victim = candidates[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_S
    while victim in _pids(directory, "gauge_livesum") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim not in _pids(directory, "gauge_livesum")
    assert httpx.get(f"{base}/metrics", timeout=30).status_code == 200


def _is_uvicorn_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing" in command
