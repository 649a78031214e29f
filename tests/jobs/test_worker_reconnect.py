"""A worker outlives PostgreSQL going away: its connections cut and new ones refused for a while (a
restart), it starts again once the database is back and runs the jobs deferred meanwhile. Procrastinate
stops a worker whose listener or heartbeat fails; a worker that stopped then, quietly, ran nothing
more: the fold, notifications and every periodic job halted until someone restarted it."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from core.settings import Settings
from tests.jobs.support import (
    defer_mark,
    dsn,
    fetch,
    job_settings,
    marking_app,
    running_worker,
    wait_for_status,
    wait_until,
)

# Long enough for the worker to notice (its listener reconnects and fails), and, once PostgreSQL is
# back, for a worker that stopped to have stopped: the job deferred then finds no one on old code.
AWAY_S = 3.0
SETTLE_S = 3.0


async def _cut_off(server_url: str, database: str, *, allow: bool) -> None:
    """Refuse (or allow again) new connections to `database`, cutting its current ones."""
    admin = await asyncpg.connect(dsn(server_url))
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
            )
    finally:
        await admin.close()


async def test_a_worker_runs_jobs_again_after_postgresql_was_away(
    scratch_db_url: str, server_url: str, settings: Settings
) -> None:
    # A schedule, as in production: with none, procrastinate's deferrer returns at once and its side
    # task monitor, content with one task done, never sees the listener fail.
    worker_settings = job_settings(
        settings, scratch_db_url, job_poll_interval_s=0.5, job_cron_prune_jobs="0 3 * * *"
    )
    database = make_url(scratch_db_url).database or ""
    before = await defer_mark(scratch_db_url, "before")

    async with running_worker(worker_settings, marking_app(worker_settings)):
        assert await wait_for_status(scratch_db_url, before, "succeeded", "failed") == "succeeded"
        # when PostgreSQL goes away for a while, the worker's connections cut
        await _cut_off(server_url, database, allow=False)
        await asyncio.sleep(AWAY_S)
        await _cut_off(server_url, database, allow=True)
        await asyncio.sleep(SETTLE_S)
        # then a job deferred once it is back still runs, by the same worker
        after = await defer_mark(scratch_db_url, "after")
        assert await wait_for_status(scratch_db_url, after, "succeeded", "failed") == "succeeded"

        async def registered() -> bool:
            return bool(await fetch(scratch_db_url, "SELECT 1 FROM procrastinate_workers"))

        await wait_until(registered, what="the worker never registered again")
