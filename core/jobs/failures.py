"""Recording each failed attempt of a job (its code and one-line summary, in job_errors), from a
worker middleware wrapped around every job, so no task has to remember to."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate.job_context import JobContext
from procrastinate.worker import Worker

from core.jobs.errors import describe
from core.metrics import JOB_FAILURES

log = logging.getLogger("swipesavvy.jobs")

# One row per job: its last failed attempt (an earlier failure of a job that then failed again is
# replaced; a job that later succeeded keeps the row as its history, the status says it succeeded).
RECORD = """
INSERT INTO job_errors (job_id, code, summary, attempt, failed_at)
VALUES (%(job_id)s, %(code)s, %(summary)s, %(attempt)s, now())
ON CONFLICT (job_id) DO UPDATE
   SET code = excluded.code, summary = excluded.summary, attempt = excluded.attempt,
       failed_at = excluded.failed_at
"""


async def record_failures(
    call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
) -> Any:
    """Run the job; when it raises, store what its failure says, then let procrastinate retry or fail it."""
    try:
        return await call_next()
    except Exception as exc:
        report = describe(exc)
        JOB_FAILURES.labels(context.job.task_name, report.code.value).inc()
        try:
            await worker.app.connector.execute_query_async(
                RECORD,
                job_id=context.job.id,
                code=report.code.value,
                summary=report.summary,
                attempt=context.job.attempts + 1,
            )
        except Exception:  # noqa: BLE001 - the job's own failure is what must propagate
            log.warning("could not record the failure of job %s", context.job.id, exc_info=True)
        raise
