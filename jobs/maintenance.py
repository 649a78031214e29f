"""The periodic upkeep that replaced the README's cron list: the same functions the command line's
`rollup-flag-usage`, `prune` and `recompute-results` run, and the engine's own housekeeping (jobs of
dead workers tried again, finished jobs deleted after their retention)."""

from __future__ import annotations

import datetime as dt
import logging

import procrastinate
from procrastinate.job_context import JobContext

from core.jobs.periodic import in_transaction, schedule, tick_time
from core.jobs.retry import backoff
from core.settings import Settings
from resolvers.admin.retention import prune
from resolvers.experiments.recompute import recompute_results
from resolvers.flags.usage_writes import rollup_flag_usage

log = logging.getLogger("swipesavvy.jobs")

QUEUE = "maintenance"
ROLLUP_FLAG_USAGE = "rollup-flag-usage"
PRUNE = "prune"
RECOMPUTE_RESULTS = "recompute-results"
RETRY_STALLED = "retry-stalled-jobs"
PRUNE_JOBS = "prune-jobs"


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the maintenance tasks on `app` with the schedules of the settings."""
    retry = backoff(settings)

    def task(name: str) -> procrastinate.tasks.Task:  # type: ignore[type-arg]
        # lock: two runs never overlap (a slow one and the next tick); queueing_lock: at most one waits.
        return app.task(name=name, queue=QUEUE, retry=retry, pass_context=True, lock=name, queueing_lock=name)

    @task(ROLLUP_FLAG_USAGE)
    async def rollup_flag_usage_job(context: JobContext, timestamp: int, day: str | None = None) -> int:
        # The UTC day before the tick, so a late or retried run still rolls up the day it was meant for.
        target = dt.date.fromisoformat(day) if day else (tick_time(timestamp) - dt.timedelta(days=1)).date()
        return await in_transaction(context, lambda session: rollup_flag_usage(session, day=target))

    @task(PRUNE)
    async def prune_job(context: JobContext, timestamp: int) -> dict[str, int]:
        return await in_transaction(
            context,
            lambda session: prune(
                session,
                now=tick_time(timestamp),
                event_retention_days=settings.analytics_event_retention_days,
                partitions_ahead_days=settings.ingest_partitions_ahead_days,
            ),
        )

    @task(RECOMPUTE_RESULTS)
    async def recompute_results_job(context: JobContext, timestamp: int) -> int:
        return await in_transaction(
            context, lambda session: recompute_results(session, now=tick_time(timestamp))
        )

    @task(RETRY_STALLED)
    async def retry_stalled_job(context: JobContext, timestamp: int) -> int:
        manager = context.app.job_manager  # type: ignore[union-attr]
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.job_stalled_after_s))
        for job in stalled:
            # Counted as an attempt: a job that kills its worker every time ends failed, not looping.
            await manager.retry_job(job)
        if stalled:
            log.warning("retried %d job(s) of workers that stopped answering", len(stalled))
        return len(stalled)

    @task(PRUNE_JOBS)
    async def prune_jobs_job(context: JobContext, timestamp: int) -> None:
        manager = context.app.job_manager  # type: ignore[union-attr]
        await manager.delete_old_jobs(
            nb_hours=settings.job_retention_hours, include_cancelled=True, include_aborted=True
        )
        await manager.delete_old_jobs(nb_hours=settings.job_failed_retention_hours, include_failed=True)

    for job_task, cron in (
        (rollup_flag_usage_job, settings.job_cron_rollup_flag_usage),
        (prune_job, settings.job_cron_prune),
        (recompute_results_job, settings.job_cron_recompute_results),
        (retry_stalled_job, settings.job_cron_retry_stalled),
        (prune_jobs_job, settings.job_cron_prune_jobs),
    ):
        schedule(app, job_task, cron)
