"""/metrics of a real `serve` with two uvicorn workers sharing one METRICS_DIR: samples add up
across workers, client-chosen names stay one series, and a killed worker's live gauges go."""

from __future__ import annotations

import asyncio
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
from sqlalchemy.engine import make_url

from core import database_admin as databases
from core.urls import with_database
from tests.metrics.live import serve_workers
from tests.metrics.support import parse, series, value

FLAGS = "query Flags { merchantCategories { name } }"
COUNT = "graphql_operation_duration_seconds_count"
# Waiting on the server's own progress (a worker restarted), never a timed assertion.
DEADLINE_S = 60
FILE_PID = re.compile(r"_(\d+)\.db$")


@pytest.fixture(scope="module")
def metrics_server(
    server_url: str,
    template_db_url: str,
    test_db_names: dict[str, str],
    services: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path]]:
    """One server for the module (a start of two workers is most of each test's time); each test
    reads only the series it makes, and the one that kills a worker runs last."""
    name = f"{test_db_names['scratch_prefix']}metrics"
    asyncio.run(databases.create_database(server_url, name, template=make_url(template_db_url).database))
    scratch = tmp_path_factory.mktemp("metrics-server")
    directory = scratch / "metrics"
    try:
        with serve_workers(
            with_database(server_url, name), services["redis_url"], scratch / "server.log",
            METRICS_DIR=str(directory),
        ) as (base, _):  # fmt: skip
            yield base, directory
    finally:
        asyncio.run(databases.drop_database(server_url, name))


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
    # (Flags: the operation of the test before, on the same server.)
    assert operations - {"Flags"} == {"other"}
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
