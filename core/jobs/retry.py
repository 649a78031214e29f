"""Retries: exponential backoff with jitter, a bounded number of attempts, then the failed state.

procrastinate's own RetryStrategy has no jitter: jobs that failed together (a provider down, the
database restarting) would all come back at the same instant and fail together again.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from core.jobs.errors import JobError
from core.settings import Settings


class Backoff(BaseRetryStrategy):
    """Attempt n (from 0) failed: wait between half and all of min(cap, base x 2^n) seconds
    ("equal jitter": never at once, spread over the upper half), until `max_attempts` tries in all."""

    def __init__(
        self,
        *,
        max_attempts: int,
        base_s: float,
        max_s: float,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_s = base_s
        self.max_s = max_s
        self._uniform = uniform

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (0 for the first)."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** min(attempt, 60))
        return self._uniform(ceiling / 2, ceiling)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, JobError) and not exception.retry:
            return None
        if job.attempts + 1 >= self.max_attempts:  # job.attempts: the tries that ended before this one
            return None
        return RetryDecision(retry_in={"seconds": self.delay_s(job.attempts)})


def backoff(settings: Settings) -> Backoff:
    """The retry strategy of the JOB_* settings."""
    return Backoff(
        max_attempts=settings.job_max_attempts,
        base_s=settings.job_retry_base_s,
        max_s=settings.job_retry_max_s,
    )
