"""job_queue_depth: what a job worker counts of each queue's waiting jobs, and 0 once a queue it saw
is empty again."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.database import create_engine, create_sessionmaker
from core.jobs.enqueue import enqueue_in
from core.jobs.queue_depth import count_waiting
from core.settings import Settings
from tests.jobs.support import MARK
from tests.metrics.support import process_samples, value

pytestmark = pytest.mark.scratch_db


async def test_waiting_jobs_are_counted_per_queue(scratch_db_url: str, settings: Settings) -> None:
    engine = create_engine(scratch_db_url, settings, pool_size=2)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session, session.begin():
            for label in ("a", "b", "c"):
                await enqueue_in(session, MARK, {"label": label}, queue="depth_a")
            await enqueue_in(session, MARK, {"label": "d"}, queue="depth_b")
        seen: set[str] = set()
        assert await count_waiting(engine, seen) == {"depth_a": 3, "depth_b": 1}
        assert value(process_samples(), "job_queue_depth", queue="depth_a") == 3

        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM procrastinate_jobs WHERE queue_name = 'depth_a'"))
        assert await count_waiting(engine, seen) == {"depth_b": 1}
        assert value(process_samples(), "job_queue_depth", queue="depth_a") == 0
    finally:
        await engine.dispose()
