"""`python server.py worker` stopped by signals while a real job runs (recompute-results, held by a
lock the test takes on ab_tests): SIGTERM lets it finish; past the grace period, or at a second
signal, the job goes back to the queue and another worker runs it (issue 14, part 5)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from core.settings import PROJECT_ROOT
from jobs import maintenance
from tests.jobs.support import WAIT_S, dsn, fetch, job_status, wait_for_status, wait_until
from tests.support import child_environment

DEFER_RECOMPUTE = (
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('maintenance', $1, 0, NULL, NULL,"
    " jsonb_build_object('timestamp', extract(epoch FROM now())::bigint), NULL)"
    "::procrastinate_job_to_defer_v1]))"
)
WORKER_ENV = {
    "JOB_POLL_INTERVAL_S": "0.2",
    "JOB_RETRY_BASE_S": "0.2",
    "JOB_RETRY_MAX_S": "0.5",
    "DB_STATEMENT_TIMEOUT_MS": "120000",
    "LOG_LEVEL": "INFO",  # the test reads when the worker heard the signal
}


def _worker(database_url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = child_environment(DATABASE_URL=database_url, **{**WORKER_ENV, **env})
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "server.py", "worker"], cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=out
        )


@contextlib.asynccontextmanager
async def _experiments_locked(url: str) -> AsyncIterator[None]:
    conn = await asyncpg.connect(dsn(url))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE ab_tests IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def _job_held(url: str, worker: subprocess.Popen[bytes], log: Path) -> int:
    """Defer recompute-results and wait until the worker runs it, stuck on the lock."""
    (row,) = await fetch(url, DEFER_RECOMPUTE, maintenance.RECOMPUTE_RESULTS)

    async def stuck() -> bool:
        assert worker.poll() is None, log.read_text(errors="replace")
        waiting = await fetch(
            url,
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        return await job_status(url, row[0]) == "doing" and bool(waiting)

    await wait_until(stuck, what="the job never ran into the lock")
    return int(row[0])


async def _logged(log: Path, text: str) -> None:
    async def said() -> bool:
        return text in log.read_text(errors="replace")

    await wait_until(said, what=f"the worker never logged {text!r}")


async def _exit_code(worker: subprocess.Popen[bytes]) -> int:
    return await asyncio.to_thread(worker.wait, WAIT_S)


async def _attempts(url: str, job: int) -> tuple[str, int]:
    (row,) = await fetch(url, "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = $1", job)
    return row["status"], row["attempts"]


async def test_sigterm_lets_the_running_job_finish(scratch_db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = _worker(scratch_db_url, log, JOB_SHUTDOWN_GRACE_S="60")
    try:
        async with _experiments_locked(scratch_db_url):
            job = await _job_held(scratch_db_url, worker, log)
            # when the worker is told to stop while its job waits
            worker.send_signal(signal.SIGTERM)
            await _logged(log, "no new job; running ones get the grace period")
            assert worker.poll() is None
        # then the job, let go, finishes, and the worker exits cleanly, unregistered
        assert await _exit_code(worker) == 0, log.read_text(errors="replace")
    finally:
        worker.kill()
    assert await _attempts(scratch_db_url, job) == ("succeeded", 1)  # one attempt: this one
    assert await fetch(scratch_db_url, "SELECT 1 FROM procrastinate_workers") == []


async def test_past_the_grace_or_at_a_second_signal_the_job_is_given_back(
    scratch_db_url: str, tmp_path: Path
) -> None:
    for grace, signals in (("0.5", 1), ("60", 2)):
        log = tmp_path / f"worker-{signals}.log"
        worker = _worker(scratch_db_url, log, JOB_SHUTDOWN_GRACE_S=grace)
        try:
            async with _experiments_locked(scratch_db_url):
                job = await _job_held(scratch_db_url, worker, log)
                worker.send_signal(signal.SIGTERM)
                if signals == 2:
                    await _logged(log, "no new job; running ones get the grace period")
                    worker.send_signal(signal.SIGINT)
                # the worker stops while the job still cannot finish: it is queued again, one attempt counted
                assert await _exit_code(worker) == 0, log.read_text(errors="replace")
                assert await _attempts(scratch_db_url, job) == ("todo", 1)
        finally:
            worker.kill()
        # and another worker runs it to the end
        other_log = tmp_path / f"other-{signals}.log"
        other = _worker(scratch_db_url, other_log)
        try:
            assert await wait_for_status(scratch_db_url, job, "succeeded", "failed") == "succeeded"
        finally:
            other.send_signal(signal.SIGTERM)
            assert await _exit_code(other) == 0, other_log.read_text(errors="replace")
