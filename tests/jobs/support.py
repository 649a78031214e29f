"""Running real workers in the test process on a scratch database, and reading the engine's tables."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import procrastinate
from sqlalchemy.engine import make_url

from core.jobs.app import build_app
from core.jobs.retry import backoff
from core.settings import Settings
from jobs import register
from jobs.worker import run_worker

# Every periodic schedule off: a test turns on the ones it is about.
NO_SCHEDULES = {
    "job_cron_rollup_flag_usage": "",
    "job_cron_prune": "",
    "job_cron_recompute_results": "",
    "job_cron_retry_stalled": "",
    "job_cron_prune_jobs": "",
    "job_cron_deliver_notifications": "",
}
# Waiting for a worker is bounded, never asserted on: a slow machine waits longer, a bug times out.
WAIT_S = 60.0


def job_settings(base: Settings, database_url: str, **overrides: Any) -> Settings:
    """Settings of a worker on `database_url`: quick polls and retries, no schedule unless given."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "job_poll_interval_s": 0.2,
        "job_retry_base_s": 0.2,
        "job_retry_max_s": 1.0,
        "job_shutdown_grace_s": 5.0,
        **NO_SCHEDULES,
        **overrides,
    }
    return Settings.model_validate({**base.model_dump(), **values})


def app_for(settings: Settings) -> procrastinate.App:
    """The App a worker of these settings runs: every real task, and room for a test's own."""
    return register(build_app(settings), settings)


MARK = "tests.mark"
DEFER_MARK = (
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('tests', $1, 0, NULL, NULL, $2::jsonb, NULL)"
    "::procrastinate_job_to_defer_v1]))"
)


def marking_app(settings: Settings, *, hold: asyncio.Event | None = None) -> procrastinate.App:
    """The real tasks plus `tests.mark(label)`, which leaves a committed `ran.<label>` setting row so
    a test sees that the job ran (after waiting for `hold`, when given: a job still running)."""
    app = app_for(settings)

    @app.task(name=MARK, queue="tests", retry=backoff(settings))
    async def mark(label: str) -> None:
        if hold is not None:
            await hold.wait()
        conn = await asyncpg.connect(dsn(settings.database_url or ""))
        try:
            await conn.execute("INSERT INTO settings (key, value) VALUES ($1, '1')", f"ran.{label}")
        finally:
            await conn.close()

    return app


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, app: procrastinate.App | None = None) -> AsyncIterator[None]:
    """A worker running in this event loop while the block runs; stopped gracefully after it."""
    task = asyncio.create_task(run_worker(settings, app=app, install_signal_handlers=False))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def wait_until(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll `check` until it holds; fail after WAIT_S saying what never happened."""
    async with asyncio.timeout(WAIT_S):
        while not await check():
            await asyncio.sleep(0.05)
    assert await check(), what


async def job_status(url: str, job_id: int) -> str | None:
    rows = await fetch(url, "SELECT status::text FROM procrastinate_jobs WHERE id = $1", job_id)
    return rows[0]["status"] if rows else None


async def wait_for_status(url: str, job_id: int, *statuses: str) -> str:
    """Wait until the job reaches one of `statuses`; return it."""

    async def reached() -> bool:
        return await job_status(url, job_id) in statuses

    await wait_until(reached, what=f"job {job_id} never reached {statuses}")
    return str(await job_status(url, job_id))


async def defer_mark(url: str, label: str) -> int:
    """Defer `tests.mark(label)` (marking_app's task) on the tests queue; its job id."""
    (row,) = await fetch(url, DEFER_MARK, MARK, f'{{"label": "{label}"}}')
    return int(row[0])
