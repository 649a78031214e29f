"""Workers stop gracefully (running jobs finish, or are given back past the grace period), and the
jobs of a worker that died are tried again by another."""

from __future__ import annotations

import asyncio

from core.settings import Settings
from tests.jobs.support import (
    defer_mark,
    fetch,
    job_settings,
    marking_app,
    running_worker,
    wait_for_status,
    wait_until,
)


async def _running(url: str, job_id: int) -> None:
    async def doing() -> bool:
        rows = await fetch(url, "SELECT status::text FROM procrastinate_jobs WHERE id = $1", job_id)
        return rows[0]["status"] == "doing"

    await wait_until(doing, what=f"job {job_id} never started")


async def test_a_stopping_worker_lets_its_running_job_finish(scratch_db_url: str, settings: Settings) -> None:
    hold = asyncio.Event()
    worker_settings = job_settings(settings, scratch_db_url, job_shutdown_grace_s=30)
    job = await defer_mark(scratch_db_url, "graceful")

    async with running_worker(worker_settings, marking_app(worker_settings, hold=hold)):
        await _running(scratch_db_url, job)
        # the worker is asked to stop while the job runs; the job is let go only then
        asyncio.get_running_loop().call_later(0.2, hold.set)

    assert await wait_for_status(scratch_db_url, job, "succeeded", "failed", "todo") == "succeeded"
    assert await fetch(scratch_db_url, "SELECT 1 FROM procrastinate_workers") == []  # unregistered


async def test_a_job_still_running_past_the_grace_period_is_given_back(
    scratch_db_url: str, settings: Settings
) -> None:
    worker_settings = job_settings(settings, scratch_db_url, job_shutdown_grace_s=0)
    job = await defer_mark(scratch_db_url, "never-finishes")

    async with running_worker(worker_settings, marking_app(worker_settings, hold=asyncio.Event())):
        await _running(scratch_db_url, job)

    # aborted by the shutdown and queued again for the next worker, with the attempt counted
    (row,) = await fetch(
        scratch_db_url, "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = $1", job
    )
    assert (row["status"], row["attempts"]) == ("todo", 1)


async def test_the_running_job_of_a_dead_worker_is_tried_again(
    scratch_db_url: str, settings: Settings
) -> None:
    # given a job left "doing" by a worker that stopped sending heartbeats (killed mid-job)
    job = await defer_mark(scratch_db_url, "orphan")
    await fetch(
        scratch_db_url,
        "WITH dead AS (INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')"
        " RETURNING id) UPDATE procrastinate_jobs SET status = 'doing', worker_id = (SELECT id FROM dead)"
        " WHERE id = $1",
        job,
    )
    worker_settings = job_settings(
        settings, scratch_db_url, job_cron_retry_stalled="* * * * * *", job_stalled_after_s=3
    )

    # when another worker runs (retry-stalled-jobs every second)
    async with running_worker(worker_settings, marking_app(worker_settings)):
        status = await wait_for_status(scratch_db_url, job, "succeeded", "failed")

    # then the job ran to completion, once more, and its work is there
    assert status == "succeeded"
    assert len(await fetch(scratch_db_url, "SELECT 1 FROM settings WHERE key = 'ran.orphan'")) == 1
