"""Periodic jobs: a cron schedule (UTC) per task, deferred by whichever worker gets there first.

Every worker runs procrastinate's periodic deferrer; the engine's unique (task, periodic id, tick)
row lets one of them defer each tick and the others skip it, so any number of workers run a
periodic job once per period. A tick missed by more than procrastinate's max delay (10 minutes,
e.g. no worker was up) is skipped rather than run late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import procrastinate
from procrastinate.job_context import JobContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.changes import ChangeDispatcher, committed_changes

T = TypeVar("T")

# JobContext.additional_context keys the worker fills in (jobs/worker.py).
SESSIONMAKER = "sessionmaker"
SETTINGS = "settings"
# The worker's change dispatcher: a job's commits are heard like a request's (subscriptions).
CHANGES = "changes"
# The notification providers (core/delivery), made once per worker.
DELIVERY = "delivery"


def schedule(app: procrastinate.App, task: procrastinate.tasks.Task[Any, Any, Any], cron: str) -> None:
    """Run `task` on `cron` (5 fields, or a 6th for seconds); an empty cron schedules nothing."""
    if cron:
        app.periodic(cron=cron)(task)


def tick_time(timestamp: int) -> dt.datetime:
    """The instant a periodic job was scheduled for (what it should compute from, not the clock)."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


async def in_transaction(context: JobContext, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work(session)` in one committed transaction of the worker's engine; what it changed is
    then dispatched (never for a rollback), as a request's writes are."""
    sessionmaker: async_sessionmaker[AsyncSession] = context.additional_context[SESSIONMAKER]
    async with sessionmaker() as session:
        async with session.begin():
            result = await work(session)
        changes = committed_changes(session)
    dispatcher: ChangeDispatcher | None = context.additional_context.get(CHANGES)
    if changes is not None and dispatcher is not None:
        await dispatcher.dispatch(changes)
    return result
