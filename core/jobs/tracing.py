"""A span per job, while tracing runs in the worker's process (core/tracing.py): the job's task name,
id and attempt; the SQL and Redis of the task are its children. Installed only when tracing is on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate.job_context import JobContext
from procrastinate.worker import Worker

from core.tracing import active_tracer


async def trace_job(call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker) -> Any:
    """Run the job inside a span of its own (a new trace: a job outlives the request that deferred it)."""
    tracer = active_tracer()
    if tracer is None:
        return await call_next()
    job = context.job
    with tracer.start_as_current_span(f"job {job.task_name}") as span:
        span.set_attribute("job.id", job.id or 0)
        span.set_attribute("job.task", job.task_name)
        span.set_attribute("job.attempt", job.attempts + 1)
        return await call_next()
