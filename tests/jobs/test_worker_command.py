"""`python server.py worker` and the worker `serve` starts, run the way an operator runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from core import database_admin as databases
from core.settings import PROJECT_ROOT
from core.urls import with_database
from jobs import maintenance
from tests.jobs.support import WAIT_S, fetch, wait_for_status, wait_until
from tests.support import child_environment
from tests.transport.conftest import free_port, wait_up

DEFER_RECOMPUTE = (
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('maintenance', $1, 0, NULL, NULL,"
    " jsonb_build_object('timestamp', extract(epoch FROM now())::bigint), NULL)"
    "::procrastinate_job_to_defer_v1]))"
)


def _start(args: list[str], database_url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = child_environment(DATABASE_URL=database_url, JOB_POLL_INTERVAL_S="0.2", **env)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "server.py", *args], cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=out
        )


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=WAIT_S)


async def _workers(url: str) -> int:
    return len(await fetch(url, "SELECT 1 FROM procrastinate_workers"))


async def test_the_worker_command_runs_jobs_and_stops_on_sigterm(scratch_db_url: str, tmp_path: Path) -> None:
    # given `python server.py worker` on the database
    log = tmp_path / "worker.log"
    worker = _start(["worker"], scratch_db_url, log)
    try:

        async def registered() -> bool:
            assert worker.poll() is None, log.read_text(errors="replace")
            return await _workers(scratch_db_url) == 1

        await wait_until(registered, what="the worker never registered")

        # when a job is deferred, it runs the command line's code
        (row,) = await fetch(scratch_db_url, DEFER_RECOMPUTE, maintenance.RECOMPUTE_RESULTS)
        assert await wait_for_status(scratch_db_url, row[0], "succeeded", "failed") == "succeeded"
    finally:
        # then SIGTERM stops it cleanly: exit 0, unregistered
        returncode = await asyncio.to_thread(_stop, worker)
    assert returncode == 0, log.read_text(errors="replace")
    assert await _workers(scratch_db_url) == 0


async def test_the_worker_refuses_an_unmigrated_database(server_url: str, tmp_path: Path) -> None:
    name = f"{make_url(server_url).database}_jobs_{os.getpid()}_empty"
    await databases.create_database(server_url, name)
    try:
        log = tmp_path / "worker.log"
        worker = _start(["worker"], with_database(server_url, name), log)
        returncode = await asyncio.to_thread(worker.wait, WAIT_S)
    finally:
        await databases.drop_database(server_url, name)

    assert returncode == 1
    assert "run `python server.py migrate`" in log.read_text(errors="replace")


def _healthy(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    wait_up(server, f"http://127.0.0.1:{port}", log, deadline=time.monotonic() + WAIT_S)


async def test_serve_with_two_uvicorn_workers_starts_one_job_worker_and_stops_it(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    # given `serve --workers 2` with the default JOB_WORKER_IN_SERVER
    port, log = free_port(), tmp_path / "serve.log"
    args = ["serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    server = _start(args, scratch_db_url, log, REDIS_URL=services["redis_url"], SEED_DEMO_ON_START="false")
    try:
        await asyncio.to_thread(_healthy, port, server, log)

        async def one_worker() -> bool:
            return await _workers(scratch_db_url) >= 1

        await wait_until(one_worker, what="serve started no job worker")
        # then exactly one job worker runs, not one per uvicorn worker
        assert await _workers(scratch_db_url) == 1
    finally:
        returncode = await asyncio.to_thread(_stop, server)
    # and stopping the server stopped it too
    assert returncode == 0, log.read_text(errors="replace")
    assert await _workers(scratch_db_url) == 0


async def test_serve_starts_no_job_worker_when_told_not_to(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    args = ["serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    server = _start(
        args,
        scratch_db_url,
        log,
        REDIS_URL=services["redis_url"],
        SEED_DEMO_ON_START="false",
        JOB_WORKER_IN_SERVER="false",
    )
    try:
        await asyncio.to_thread(_healthy, port, server, log)
        assert await _workers(scratch_db_url) == 0
        assert "Job worker" not in log.read_text(errors="replace")
    finally:
        assert await asyncio.to_thread(_stop, server) == 0
