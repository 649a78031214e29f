"""A worker told to stop twice: its running jobs end now and go back to the queue.

procrastinate stops a worker gracefully (no new job; running ones get the grace period, then are
aborted and retried), but has no "now" for a second signal: its handlers are gone after the first,
and the default one would kill the process with its jobs left running in the table until
retry-stalled-jobs finds them. This worker middleware, around every job, ends the job when told and
fails its attempt, so the job's retry strategy gives it back to the queue at once, as a shutdown
abort does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate.job_context import JobContext
from procrastinate.worker import Worker


class Interrupted(Exception):
    """The worker was told to stop at once (a second signal) while this job ran."""


class Hurry:
    """Set by the second stop signal; `middleware` goes into the worker's worker_middleware."""

    def __init__(self) -> None:
        self.now = asyncio.Event()

    def set(self) -> None:
        self.now.set()

    async def middleware(
        self, call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
    ) -> Any:
        job = asyncio.ensure_future(call_next())
        told = asyncio.ensure_future(self.now.wait())
        try:
            await asyncio.wait({job, told}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # procrastinate's own abort (past the grace period)
            job.cancel()
            with contextlib.suppress(BaseException):
                await job
            raise
        finally:
            told.cancel()
        if job.done():
            return job.result()
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
        raise Interrupted("the worker was told to stop at once; the job goes back to the queue")
