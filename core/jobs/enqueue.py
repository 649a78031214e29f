"""Deferring a job inside the caller's transaction: the job exists if and only if that write commits.

procrastinate talks psycopg and the server asyncpg, so the job is not deferred through procrastinate's
Python API but with the SQL function that API calls (procrastinate_defer_jobs_v1 of the pinned
version, migrations/versions/0009_job_engine.py), on the caller's own connection. Its insert trigger
NOTIFYs the workers, and PostgreSQL delivers a notification only when the transaction commits.

Task defaults set on a task's decorator (queue, lock, priority) live in Python and do not apply here:
pass them explicitly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"
# The partial unique index of the engine's schema: one waiting job per queueing lock.
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"

DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue AS varchar), CAST(:task_name AS varchar), CAST(:priority AS integer),"
    " CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb),"
    " CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1]))"
)


async def enqueue_in(
    session: AsyncSession,
    task_name: str,
    args: dict[str, Any] | None = None,
    *,
    queue: str = DEFAULT_QUEUE,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = 0,
    run_at: dt.datetime | None = None,
) -> int | None:
    """Defer `task_name(**args)` in `session`'s transaction; return the job id.

    `args` must be JSON (the task receives them as keyword arguments). `lock`: jobs sharing it never
    run at once, in the order they were deferred. `queueing_lock`: at most one such job waits; a
    second is not deferred and None is returned, the caller's transaction carrying on unharmed.
    `run_at`: not before this instant (timezone-aware).
    """
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    params = {
        "queue": queue,
        "task_name": task_name,
        "priority": priority,
        "lock": lock,
        "queueing_lock": queueing_lock,
        "args": orjson.dumps(args or {}).decode(),
        "scheduled_at": run_at,
    }
    if queueing_lock is None:
        return (await session.execute(DEFER, params)).scalar_one()
    try:
        # A savepoint: the refused duplicate must not abort the caller's transaction.
        async with session.begin_nested():
            return (await session.execute(DEFER, params)).scalar_one()
    except IntegrityError as exc:
        if QUEUEING_LOCK_INDEX in str(exc.orig):
            return None
        raise
