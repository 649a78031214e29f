"""The server's least-privilege role (create-db-roles) runs the job engine: it defers, takes, runs and
finishes jobs, and records failures, with no more than the rows and sequences it is granted."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from core.dbroles import create_db_roles
from core.settings import Settings
from tests.jobs.support import MARK, fetch, job_settings, marking_app, running_worker, wait_for_status


@pytest.fixture
async def app_role_url(scratch_db_url: str) -> AsyncIterator[str]:
    """The scratch database's URL as a fresh app role; the role is dropped afterwards (roles are global)."""
    app, analytics = f"t{os.getpid()}_jobs_app", f"t{os.getpid()}_jobs_analytics"
    await create_db_roles(scratch_db_url, app_role=app, analytics_role=analytics)
    yield make_url(scratch_db_url).set(username=app, password=None).render_as_string(hide_password=False)
    for name in (app, analytics):
        await fetch(scratch_db_url, f'DROP OWNED BY "{name}"')
        await fetch(scratch_db_url, f'DROP ROLE "{name}"')


async def test_the_app_role_runs_a_worker(app_role_url: str, settings: Settings) -> None:
    worker_settings = job_settings(settings, app_role_url)
    defer = (
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('tests', $1, 0, NULL, NULL,"
        ' \'{"label": "role"}\', NULL)::procrastinate_job_to_defer_v1]))'
    )

    (row,) = await fetch(app_role_url, defer, MARK)
    async with running_worker(worker_settings, marking_app(worker_settings)):
        status = await wait_for_status(app_role_url, row[0], "succeeded", "failed")

    assert status == "succeeded"
    # and a failed attempt's record is the role's to write (core/jobs/failures.py)
    await fetch(
        app_role_url,
        "INSERT INTO job_errors (job_id, code, summary, attempt) VALUES ($1, 'INTERNAL', 'x', 1)",
        row[0],
    )
