"""Each job worker counts the jobs waiting in every queue now and then (job_queue_depth): a gauge
written from here, since multiprocess mode has no callback gauges to ask PostgreSQL when scraped."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.metrics import JOB_QUEUE_DEPTH

log = logging.getLogger("swipesavvy.jobs")

# Served by procrastinate's own index on (queue_name, status).
WAITING = text(
    "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' GROUP BY queue_name"
)


async def count_waiting(engine: AsyncEngine, seen: set[str]) -> dict[str, int]:
    """Set the gauge of every queue with waiting jobs, and 0 for those seen before that have none."""
    async with engine.connect() as conn:
        depths = {str(queue): int(count) for queue, count in (await conn.execute(WAITING)).all()}
    seen.update(depths)
    for queue in seen:
        JOB_QUEUE_DEPTH.labels(queue).set(depths.get(queue, 0))
    return depths


async def observe_queue_depth(engine: AsyncEngine, *, interval_s: float) -> None:
    """Count every `interval_s` until cancelled; a failed count (PostgreSQL away) waits for the next."""
    seen: set[str] = set()
    while True:
        try:
            await count_waiting(engine, seen)
        except Exception as exc:  # noqa: BLE001 - the worker's jobs matter more than this gauge
            log.info("job queue depth not counted (%s)", exc)
        await asyncio.sleep(interval_s)
