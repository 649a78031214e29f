"""jobQueues and failedJobs: queue depth per queue and task, failed jobs with their code and summary
(never the exception's text), admins only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.jobs.enqueue import enqueue_in
from core.viewer import Role, Viewer
from tests.merchants.support import ADMIN, others

QUEUES = """
{ jobQueues { queue task waiting scheduled running succeeded failed cancelled aborted oldestDueAt } }
"""
FAILED = """
query ($first: Int, $task: String) {
  failedJobs(first: $first, task: $task) { jobId queue task attempts code summary failedAt }
}
"""


async def _jobs(db: AsyncSession) -> dict[str, int]:
    """Jobs in every state, deferred in the test's transaction (rolled back with it)."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    ids = {
        "due": await enqueue_in(db, "prune", {"timestamp": 1}, queue="maintenance"),
        "due2": await enqueue_in(db, "prune", {"timestamp": 2}, queue="maintenance"),
        "later": await enqueue_in(db, "prune", {"timestamp": 3}, queue="maintenance", run_at=later),
        "running": await enqueue_in(db, "send", {"n": 1}, queue="notifications"),
        "failed": await enqueue_in(db, "send", {"n": 2}, queue="notifications"),
        "unrecorded": await enqueue_in(db, "send", {"n": 3}, queue="notifications"),
    }
    await db.execute(
        text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"), {"id": ids["running"]}
    )
    await db.execute(
        text("UPDATE procrastinate_jobs SET status = 'failed', attempts = 5 WHERE id = ANY(:ids)"),
        {"ids": [ids["failed"], ids["unrecorded"]]},
    )
    await db.execute(
        text(
            "INSERT INTO job_errors (job_id, code, summary, attempt, failed_at)"
            " VALUES (:id, 'SERVICE_UNAVAILABLE', 'unavailable: ConnectionRefusedError', 5, now())"
        ),
        {"id": ids["failed"]},
    )
    return {k: int(v or 0) for k, v in ids.items()}


async def test_admins_see_the_jobs_per_queue_and_task_by_state(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _jobs(db)

    result = await gql(QUEUES, viewer=ADMIN)

    assert result.errors is None
    rows = result.data["jobQueues"]
    assert [(r["queue"], r["task"]) for r in rows] == [("maintenance", "prune"), ("notifications", "send")]
    counts = ["waiting", "scheduled", "running", "succeeded", "failed", "cancelled", "aborted"]
    assert [[r[c] for c in counts] for r in rows] == [[2, 1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 2, 0, 0]]
    assert rows[0]["oldestDueAt"] is not None and rows[1]["oldestDueAt"] is None


async def test_failed_jobs_show_a_code_and_a_summary_latest_first(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ids = await _jobs(db)

    result = await gql(FAILED, {"task": "send"}, viewer=ADMIN)

    assert result.errors is None
    assert [{k: v for k, v in job.items() if k != "failedAt"} for job in result.data["failedJobs"]] == [
        {
            "jobId": ids["failed"],
            "queue": "notifications",
            "task": "send",
            "attempts": 5,
            "code": "SERVICE_UNAVAILABLE",
            "summary": "unavailable: ConnectionRefusedError",
        },
        {
            "jobId": ids["unrecorded"],
            "queue": "notifications",
            "task": "send",
            "attempts": 5,
            "code": "INTERNAL",
            "summary": "failed without a recorded error",
        },
    ]
    other_task = await gql(FAILED, {"task": "prune"}, viewer=ADMIN)
    assert other_task.data["failedJobs"] == []


@pytest.mark.parametrize("first", [0, 101, -1])
async def test_a_page_size_out_of_range_is_bad_user_input(first: int, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(FAILED, {"first": first}, viewer=ADMIN)

    assert [e.extensions["code"] for e in result.errors] == ["BAD_USER_INPUT"]
    assert result.data == {"failedJobs": None}


@pytest.mark.parametrize(
    "viewer", [*others(Role.ADMIN), Viewer(role=Role.ANONYMOUS)], ids=lambda v: v.role.value
)
@pytest.mark.parametrize("document", [QUEUES, FAILED], ids=["jobQueues", "failedJobs"])
async def test_non_admins_are_refused(document: str, viewer: Viewer, db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _jobs(db)

    result = await gql(document, viewer=viewer)

    assert {e.extensions["code"] for e in result.errors} == {"FORBIDDEN"}
    assert set(result.data.values()) == {None}
