"""Retries: exponential backoff with jitter, a bounded number of tries, then the failed state kept
with a code and a one-line summary (never the exception's text)."""

from __future__ import annotations

import pytest
from procrastinate.jobs import Job

from core.database import create_engine, create_sessionmaker
from core.errors import ErrorCode
from core.jobs.enqueue import enqueue_in
from core.jobs.errors import JobError, describe
from core.jobs.retry import Backoff
from core.settings import Settings
from tests.jobs.support import app_for, fetch, job_settings, running_worker, wait_for_status


def _job(attempts: int) -> Job:
    return Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def test_the_wait_doubles_per_attempt_up_to_the_cap_within_its_upper_half() -> None:
    low = Backoff(max_attempts=10, base_s=2, max_s=30, uniform=lambda a, b: a)
    high = Backoff(max_attempts=10, base_s=2, max_s=30, uniform=lambda a, b: b)

    assert [low.delay_s(n) for n in range(6)] == [1, 2, 4, 8, 15, 15]
    assert [high.delay_s(n) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    # a huge attempt count is still capped, not an overflow
    assert high.delay_s(10_000) == 30


def test_jitter_spreads_jobs_that_failed_together() -> None:
    backoff = Backoff(max_attempts=10, base_s=8, max_s=600)

    delays = {backoff.delay_s(3) for _ in range(50)}

    assert len(delays) > 1 and all(32 <= d <= 64 for d in delays)


def test_the_last_attempt_and_permanent_errors_are_not_retried() -> None:
    backoff = Backoff(max_attempts=3, base_s=1, max_s=10)
    oops = RuntimeError("x")

    assert backoff.get_retry_decision(exception=oops, job=_job(0)) is not None
    assert backoff.get_retry_decision(exception=oops, job=_job(1)) is not None
    assert backoff.get_retry_decision(exception=oops, job=_job(2)) is None  # the third try was the last
    permanent = JobError(ErrorCode.BAD_USER_INPUT, "no such campaign", retry=False)
    assert backoff.get_retry_decision(exception=permanent, job=_job(0)) is None


@pytest.mark.parametrize(
    ("exc", "code", "summary"),
    [
        (
            JobError(ErrorCode.SERVICE_UNAVAILABLE, "SMTP server\nrefused"),
            "SERVICE_UNAVAILABLE",
            "SMTP server refused",
        ),
        (ValueError("card 4111 1111 1111 1111 of bob@example.com"), "INTERNAL", "unexpected ValueError"),
        (TimeoutError(), "TIMEOUT", "timed out"),
        (
            ConnectionRefusedError("127.0.0.1:5432"),
            "SERVICE_UNAVAILABLE",
            "unavailable: ConnectionRefusedError",
        ),
        (JobError(ErrorCode.INTERNAL, "x" * 500), "INTERNAL", "x" * 199 + "…"),
    ],
)
def test_a_failure_is_described_by_a_code_and_one_line_of_the_applications_words(
    exc: Exception, code: str, summary: str
) -> None:
    report = describe(exc)

    assert (report.code.value, report.summary) == (code, summary)


FLAKY = "tests.always-fails"


async def test_a_failing_job_is_retried_with_backoff_then_kept_failed_with_its_code(
    scratch_db_url: str, settings: Settings
) -> None:
    # given a task that always fails with a secret in its message, tried 3 times
    worker_settings = job_settings(settings, scratch_db_url, job_max_attempts=3, job_retry_base_s=0.2)
    app = app_for(worker_settings)
    from core.jobs.retry import backoff

    @app.task(name=FLAKY, queue="tests", retry=backoff(worker_settings))
    async def always_fails() -> None:
        raise ValueError("password=hunter2")

    engine = create_engine(scratch_db_url, settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            job = await enqueue_in(session, FLAKY, queue="tests")
    finally:
        await engine.dispose()

    # when a worker runs it
    async with running_worker(worker_settings, app):
        status = await wait_for_status(scratch_db_url, job, "failed", "succeeded")

    # then it was tried 3 times, waiting longer each time, and is kept failed
    assert status == "failed"
    (row,) = await fetch(scratch_db_url, "SELECT attempts FROM procrastinate_jobs WHERE id = $1", job)
    assert row["attempts"] == 3
    starts = [
        r["at"]
        for r in await fetch(
            scratch_db_url,
            "SELECT at FROM procrastinate_events WHERE job_id = $1 AND type = 'started' ORDER BY at",
            job,
        )
    ]
    assert len(starts) == 3
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    # at least the lower half of base x 2^n (jitter never retries sooner)
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2
    # with the code and summary of its last attempt, never the exception's text
    (error,) = await fetch(
        scratch_db_url, "SELECT code, summary, attempt FROM job_errors WHERE job_id = $1", job
    )
    assert dict(error) == {"code": "INTERNAL", "summary": "unexpected ValueError", "attempt": 3}
