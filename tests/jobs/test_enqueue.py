"""A job caused by a write exists if and only if that write commits, and a committed one runs on a
worker; the queueing lock keeps one waiting job without harming the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.database import create_engine, create_sessionmaker
from core.jobs.enqueue import enqueue_in
from core.settings import Settings
from tests.jobs.support import MARK, fetch, job_settings, marking_app, running_worker, wait_for_status


@pytest.fixture
async def sessions(scratch_db_url: str, settings: Settings):  # type: ignore[no-untyped-def]
    engine = create_engine(scratch_db_url, settings, pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_a_job_deferred_in_a_rolled_back_write_never_exists_and_a_committed_one_runs(
    scratch_db_url: str, settings: Settings, sessions
) -> None:  # type: ignore[no-untyped-def]
    worker_settings = job_settings(settings, scratch_db_url)
    async with running_worker(worker_settings, marking_app(worker_settings)):
        # given a write that defers a job and then rolls back
        async with sessions() as session:
            await session.begin()
            await session.execute(text("INSERT INTO settings (key, value) VALUES ('write.a', '1')"))
            rolled_back = await enqueue_in(session, MARK, {"label": "a"}, queue="tests")
            await session.rollback()
        # and one that defers a job and commits
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO settings (key, value) VALUES ('write.b', '1')"))
            committed = await enqueue_in(session, MARK, {"label": "b"}, queue="tests")

        # then the committed job runs on the worker
        assert await wait_for_status(scratch_db_url, committed, "succeeded", "failed") == "succeeded"

    # and the rolled-back one never existed, nor ran
    assert rolled_back is not None
    jobs = await fetch(scratch_db_url, "SELECT id, task_name, args FROM procrastinate_jobs")
    assert [(r["id"], r["task_name"]) for r in jobs] == [(committed, MARK)]
    keys = await fetch(
        scratch_db_url, "SELECT key FROM settings WHERE key LIKE 'ran.%' OR key LIKE 'write.%'"
    )
    assert sorted(r["key"] for r in keys) == ["ran.b", "write.b"]


async def test_a_second_job_with_the_same_queueing_lock_is_not_deferred_and_the_write_goes_on(
    scratch_db_url: str, sessions
) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        first = await enqueue_in(session, MARK, {"label": "x"}, queue="tests", queueing_lock="campaign:1")
        second = await enqueue_in(session, MARK, {"label": "y"}, queue="tests", queueing_lock="campaign:1")
        # the transaction is still usable after the refused duplicate
        await session.execute(text("INSERT INTO settings (key, value) VALUES ('after.duplicate', '1')"))

    assert first is not None and second is None
    assert len(await fetch(scratch_db_url, "SELECT 1 FROM procrastinate_jobs")) == 1
    assert len(await fetch(scratch_db_url, "SELECT 1 FROM settings WHERE key = 'after.duplicate'")) == 1


async def test_a_job_runs_no_sooner_than_asked(scratch_db_url: str, sessions) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    async with sessions() as session, session.begin():
        job = await enqueue_in(session, MARK, {"label": "later"}, queue="tests", run_at=later)

    rows = await fetch(
        scratch_db_url, "SELECT scheduled_at, status::text FROM procrastinate_jobs WHERE id = $1", job
    )
    assert (rows[0]["scheduled_at"], rows[0]["status"]) == (later, "todo")
    with pytest.raises(ValueError, match="timezone-aware"):
        async with sessions() as session, session.begin():
            await enqueue_in(session, MARK, run_at=later.replace(tzinfo=None))
