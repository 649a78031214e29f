"""What tests of every domain share: counting SQL statements, a request context on the test's session,
and the codes of a result's errors."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics_dir
from core.context import RequestContext
from core.settings import Settings
from core.viewer import Viewer
from resolvers.analytics.event_log import fold_pending


@contextmanager
def counting(sync_connection: Any) -> Iterator[list[str]]:
    """Every SQL statement run on the connection while the block runs."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(sync_connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(sync_connection, "before_cursor_execute", count)


@asynccontextmanager
async def counting_on(db: AsyncSession) -> AsyncIterator[list[str]]:
    """`counting` on the connection of the test's session."""
    with counting((await db.connection()).sync_connection) as statements:
        yield statements


def context(db: AsyncSession, settings: Settings, viewer: Viewer) -> RequestContext:
    """A request context reading through the test's session (what the `gql` fixture builds)."""
    return RequestContext(
        request=None, settings=settings, sessionmaker=None, redis=None, viewer=viewer, session=db
    )


async def load_counted(
    db: AsyncSession, settings: Settings, loader: type, keys: list[Any], *, viewer: Viewer
) -> tuple[list[Any], list[str]]:
    """Load `keys` at once through a fresh loader; return the values and the SQL statements run."""
    instance = loader(context(db, settings, viewer))
    with counting((await db.connection()).sync_connection) as statements:
        values = await instance.load_many(keys)
    return values, statements


def codes(result: Any) -> set[str]:
    """The codes of a result's errors."""
    return {e.extensions.get("code") for e in result.errors or []}


async def fold_now(session: AsyncSession) -> int:
    """Count every pending campaign event into the metrics now, on `session` (in its transaction), as
    the job workers' fold does a moment after a batch commits; returns the events folded."""
    folded = 0
    while (round_ := await fold_pending(session, limit=10_000)).claimed:
        folded += round_.folded
    return folded


async def fold_committed(sessionmaker: Any) -> int:
    """`fold_now` in a transaction of its own, committed (tests of committed data)."""
    async with sessionmaker() as session, session.begin():
        return await fold_now(session)


def child_environment(**env: str) -> dict[str, str]:
    """The environment of a process a test starts (a server, a job worker): this one's, without its
    metrics directory. The test process records samples of its own there (in-process tests); a child
    that inherited it would count them on its /metrics as a deployment's server never would."""
    inherited = {k: v for k, v in os.environ.items() if k != metrics_dir.ENVIRONMENT_VARIABLE}
    return {**inherited, **env}


def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every Redis key under `prefix` (what a test run or a test's server wrote)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
