"""What admins see of the background jobs: per queue and task, how many jobs are in each state, and
the failed jobs with the code and summary their last attempt recorded (job_errors), never its text.

Read from the engine's tables (migrations/versions/0009_job_engine.py): they are procrastinate's, not
models, hence SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text

from core.context import RequestContext
from core.errors import BadUserInput, ErrorCode
from resolvers.text_inputs import filter_text

FAILED_PAGE_MAX = 100
# A job that failed without a recorded attempt (the worker could not write it, or the task was
# unknown to every worker) still shows a code.
UNRECORDED_CODE = ErrorCode.INTERNAL.value
UNRECORDED_SUMMARY = "failed without a recorded error"

# One scan of the jobs grouped by queue and task (a queue holds few distinct tasks); the age of the
# oldest job due but not taken reads only jobs waiting (the engine's partial index on todo) and their
# 'deferred' event (procrastinate_events_job_id_fkey_v1).
COUNTS = text(
    """
    WITH due AS (
        SELECT j.queue_name, j.task_name, min(greatest(j.scheduled_at, e.at)) AS since
          FROM procrastinate_jobs j
          JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
         WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
         GROUP BY 1, 2
    )
    SELECT j.queue_name AS queue, j.task_name AS task,
           count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()))
               AS waiting,
           count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS scheduled,
           count(*) FILTER (WHERE status = 'doing') AS running,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE status = 'aborted') AS aborted,
           min(due.since) AS oldest_due_at
      FROM procrastinate_jobs j
      LEFT JOIN due ON due.queue_name = j.queue_name AND due.task_name = j.task_name
     GROUP BY j.queue_name, j.task_name
     ORDER BY j.queue_name, j.task_name
    """
)

FAILED = text(
    """
    SELECT j.id, j.queue_name AS queue, j.task_name AS task, j.attempts,
           coalesce(err.code, :unrecorded_code) AS code,
           coalesce(err.summary, :unrecorded_summary) AS summary,
           coalesce(err.failed_at, fin.at) AS failed_at
      FROM procrastinate_jobs j
      LEFT JOIN job_errors err ON err.job_id = j.id
      LEFT JOIN LATERAL (
          SELECT max(at) AS at FROM procrastinate_events WHERE job_id = j.id AND type = 'failed'
      ) fin ON true
     WHERE j.status = 'failed' AND (CAST(:task AS text) IS NULL OR j.task_name = :task)
     ORDER BY coalesce(err.failed_at, fin.at) DESC NULLS LAST, j.id DESC
     LIMIT :first
    """
)


async def job_counts(*, context: RequestContext) -> Sequence[Row[Any]]:
    """Return the job counts by state of every (queue, task) that has jobs."""
    async with context.read_connection() as session:
        return (await session.execute(COUNTS)).all()


async def failed_jobs(*, context: RequestContext, first: int, task: str | None) -> Sequence[Row[Any]]:
    """Return up to `first` failed jobs, the latest failures first, of one task or all."""
    if not 1 <= first <= FAILED_PAGE_MAX:
        raise BadUserInput(f"`first` must be between 1 and {FAILED_PAGE_MAX}.", field="first")
    filter_text(task, field="task")
    params = {
        "task": task,
        "first": first,
        "unrecorded_code": UNRECORDED_CODE,
        "unrecorded_summary": UNRECORDED_SUMMARY,
    }
    async with context.read_connection() as session:
        return (await session.execute(FAILED, params)).all()
