"""Background jobs as admins see them: queue depth per queue and task, and the failed jobs with a
code and a one-line summary (never the exception's text)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from core.context import Ctx
from core.policies import ADMINS
from core.viewer import Role
from resolvers.admin import jobs as job_reads
from schema.permissions import allow, type_policy


@type_policy(Role.ADMIN)
@strawberry.type(description="The jobs of one task on one queue, counted by state.")
class JobQueueCount:
    queue: str = strawberry.field(description="Queue name, e.g. maintenance.")
    task: str = strawberry.field(description="Task name, e.g. rollup-flag-usage.")
    waiting: int = strawberry.field(description="Due and not yet taken by a worker: the queue's depth.")
    scheduled: int = strawberry.field(
        description="Waiting for a later time (a retry's backoff, a send time)."
    )
    running: int = strawberry.field(description="Taken by a worker and running.")
    succeeded: int = strawberry.field(description="Finished (kept for JOB_RETENTION_HOURS).")
    failed: int = strawberry.field(description="Out of attempts (kept for JOB_FAILED_RETENTION_HOURS).")
    cancelled: int = strawberry.field(description="Cancelled before they ran.")
    aborted: int = strawberry.field(description="Stopped while running and not retried.")
    oldest_due_at: dt.datetime | None = strawberry.field(
        description="Since when the oldest waiting job has been due (UTC); null when none waits."
    )

    @classmethod
    def from_row(cls, row: Any) -> JobQueueCount:
        return cls(
            queue=row.queue,
            task=row.task,
            waiting=row.waiting,
            scheduled=row.scheduled,
            running=row.running,
            succeeded=row.succeeded,
            failed=row.failed,
            cancelled=row.cancelled,
            aborted=row.aborted,
            oldest_due_at=row.oldest_due_at,
        )


@type_policy(Role.ADMIN)
@strawberry.type(description="A job that ran out of attempts, kept for inspection.")
class FailedJob:
    job_id: int = strawberry.field(description="The engine's job id (for the worker's logs).")
    queue: str = strawberry.field(description="Queue name.")
    task: str = strawberry.field(description="Task name.")
    attempts: int = strawberry.field(description="Times it was tried.")
    code: str = strawberry.field(
        description="Error code of its last attempt (SERVICE_UNAVAILABLE, TIMEOUT, ...)."
    )
    summary: str = strawberry.field(description="One line on its last attempt, written by the application.")
    failed_at: dt.datetime | None = strawberry.field(description="When its last attempt failed (UTC).")

    @classmethod
    def from_row(cls, row: Any) -> FailedJob:
        return cls(
            job_id=row.id,
            queue=row.queue,
            task=row.task,
            attempts=row.attempts,
            code=row.code,
            summary=row.summary,
            failed_at=row.failed_at,
        )


@strawberry.type
class JobQuery:
    @strawberry.field(
        description="Background jobs per queue and task, counted by state (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def job_queues(self, info: Ctx) -> list[JobQueueCount] | None:
        return [JobQueueCount.from_row(row) for row in await job_reads.job_counts(context=info.context)]

    @strawberry.field(
        description=f"Failed jobs, latest failure first: up to `first` (1 to {job_reads.FAILED_PAGE_MAX}), "
        "of one task or all (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def failed_jobs(
        self, info: Ctx, first: int = 20, task: str | None = None
    ) -> list[FailedJob] | None:
        rows = await job_reads.failed_jobs(context=info.context, first=first, task=task)
        return [FailedJob.from_row(row) for row in rows]
