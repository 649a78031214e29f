"""Settings of background work (issue 13): campaign and staff notifications, their deliveries, and the
job engine that runs them. A part of `core.settings.Settings`, which inherits these fields."""

from __future__ import annotations

import zoneinfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class JobSettings(BaseSettings):
    # --- Notifications (issue 13). Users who never chose a time zone are timed in this IANA zone.
    default_time_zone: str = "UTC"
    # Active push devices per person; registering one more is refused until one is unregistered.
    notification_max_devices_per_user: int = Field(default=10, ge=1, le=50)
    # A campaign's notification is due at the person's best hour and day (user_optimal_send_times);
    # unknown, at this local hour. At most this many notifications per person per local day (more
    # move to the next day with room).
    notification_default_hour: int = Field(default=10, ge=0, le=23)
    notification_daily_cap: int = Field(default=3, ge=1)
    # Notifications delivered, and deliveries sent, per round of the delivery job; the job looks for
    # due work again this often when there was none.
    notification_batch: int = Field(default=500, ge=1, le=10_000)
    # People a campaign's schedule writes per transaction (a pause waits for at most one of them).
    notification_schedule_batch: int = Field(default=1000, ge=1, le=50_000)
    notification_poll_s: float = Field(default=2.0, gt=0)
    # A delivery is tried this many times in all (waits between half and all of
    # min(max, base x 2^(n-1)) seconds, or the provider's Retry-After), then kept as failed. A claimed
    # delivery whose worker died is claimed again after the lease.
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_retry_base_s: float = Field(default=5.0, gt=0)
    delivery_retry_max_s: float = Field(default=3600.0, gt=0)
    delivery_lease_s: float = Field(default=120.0, gt=0)
    # The one-click unsubscribe link of campaign e-mails (List-Unsubscribe); unset: no such header.
    email_unsubscribe_url: str | None = None

    @field_validator("default_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        # A typo fails at start, not at the first campaign.
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone: {value!r}") from exc
        return value

    # --- Background jobs (issue 13): procrastinate, jobs kept in PostgreSQL next to the data. `serve`
    # starts one worker process beside uvicorn unless this is off (then run `server.py worker`).
    job_worker_in_server: bool = True
    # Jobs one worker runs at once (asyncio tasks), and the queues it takes (comma-separated; empty: all).
    job_concurrency: int = Field(default=4, ge=1, le=100)
    job_queues: str = ""
    # A failing job is tried this many times in all, waiting about base x 2^attempt seconds between
    # tries (capped, with jitter), then kept as failed for admins to inspect.
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    job_retry_base_s: float = Field(default=2.0, gt=0)
    job_retry_max_s: float = Field(default=600.0, gt=0)
    # On SIGTERM a worker takes no new job and waits this long for running ones, then gives them back
    # (unset: DRAIN_GRACE_S, core/drain_settings.py; read it as `settings.job_grace`).
    job_shutdown_grace_s: float | None = Field(default=None, ge=0)
    # Fallback poll of the queues (new jobs wake workers at once through LISTEN/NOTIFY).
    job_poll_interval_s: float = Field(default=5.0, gt=0)
    # A worker silent this long is presumed dead; its running jobs are tried again.
    job_stalled_after_s: float = Field(default=60.0, gt=0)
    # Connections of each worker's procrastinate pool (the tasks' own SQL uses a small engine beside it).
    job_pool_size: int = Field(default=4, ge=2)
    # Finished jobs are kept this long (failed ones the longer time, for inspection), then deleted.
    job_retention_hours: int = Field(default=7 * 24, ge=1)
    job_failed_retention_hours: int = Field(default=30 * 24, ge=1)
    # Schedules (cron, UTC; empty: not scheduled) of the periodic jobs that replace the cron list.
    job_cron_rollup_flag_usage: str = "15 0 * * *"
    job_cron_prune: str = "30 0 * * *"
    job_cron_recompute_results: str = "0 * * * *"
    job_cron_retry_stalled: str = "* * * * *"
    job_cron_prune_jobs: str = "45 0 * * *"
    # Restarts the notification delivery loop, should it ever have stopped (it defers itself).
    job_cron_deliver_notifications: str = "* * * * *"

    @field_validator(
        "job_cron_rollup_flag_usage",
        "job_cron_prune",
        "job_cron_recompute_results",
        "job_cron_retry_stalled",
        "job_cron_prune_jobs",
        "job_cron_deliver_notifications",
    )
    @classmethod
    def _cron_is_valid(cls, value: str) -> str:
        import croniter

        if value.strip() and not croniter.croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")  # a typo fails at start, not silently
        return value.strip()

    @property
    def job_queue_list(self) -> list[str] | None:
        return [q.strip() for q in self.job_queues.split(",") if q.strip()] or None
