"""The fold: a loop in every job worker that counts appended campaign events (resolvers/analytics/
event_log.py) within about INGEST_FOLD_IDLE_S of their commit.

A loop, not a scheduled job: it claims again at once while claims come back full, and sleeps
INGEST_FOLD_IDLE_S when they do not, so an idle loop costs one small statement per wait and a backlog
is worked off at full speed. Every worker on every machine runs one; their claims never overlap
(SKIP LOCKED), so adding workers adds fold throughput without double counting. A round that fails
(a deadlock with another fold, PostgreSQL restarting) has rolled back whole: its events stay pending
and the next round takes them.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.changes import ChangeDispatcher, committed_changes
from core.settings import Settings
from resolvers.analytics.event_log import Folded, fold_pending

log = logging.getLogger("swipesavvy.jobs")

# After a failed round: long enough not to hammer a PostgreSQL that is restarting.
FAILED_ROUND_WAIT_S = 1.0


async def fold_once(
    sessionmaker: async_sessionmaker[AsyncSession], changes: ChangeDispatcher, *, limit: int
) -> Folded:
    """One claim, counted and committed; what it wrote is then dispatched (caches, live metrics)."""
    async with sessionmaker() as session:
        async with session.begin():
            folded = await fold_pending(session, limit=limit)
        written = committed_changes(session)
    if written is not None:
        await changes.dispatch(written)
    return folded


async def fold_loop(
    sessionmaker: async_sessionmaker[AsyncSession], changes: ChangeDispatcher, settings: Settings
) -> None:
    """Fold until cancelled (the worker stopping: the round in flight rolls back)."""
    limit = settings.ingest_fold_batch
    while True:
        try:
            folded = await fold_once(sessionmaker, changes, limit=limit)
        except (DBAPIError, OSError) as exc:
            log.warning("event fold round rolled back, retried: %s", type(exc).__name__)
            await asyncio.sleep(FAILED_ROUND_WAIT_S)
            continue
        if folded.claimed < limit:
            await asyncio.sleep(settings.ingest_fold_idle_s)
