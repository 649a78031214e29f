"""Viewers, statement counting and row builders shared by the flag tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.settings import Settings
from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
MARKETER = Viewer(role=Role.MARKETER, user_id=2)
ANALYST = Viewer(role=Role.ANALYST, user_id=3)
MERCHANT = Viewer(role=Role.MERCHANT, user_id=4, merchant_id=1)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=5)
SERVICE = Viewer(role=Role.SERVICE)
STAFF_VIEWERS = (ADMIN, MARKETER, ANALYST)
NOT_STAFF = (MERCHANT, CUSTOMER, SERVICE, ANONYMOUS)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def without_seeded_flags(db: AsyncSession) -> None:
    """Delete the reference flags inside the test's transaction, so lists hold only the test's rows."""
    await db.execute(delete(FeatureFlag))


@contextmanager
def _listening(sync_connection: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(sync_connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(sync_connection, "before_cursor_execute", record)


@asynccontextmanager
async def counting(db: AsyncSession) -> AsyncIterator[list[str]]:
    """The SQL statements run on the test's connection inside the block."""
    with _listening((await db.connection()).sync_connection) as statements:
        yield statements


def request_context(db: AsyncSession, settings: Settings, viewer: Viewer = ADMIN) -> RequestContext:
    """A request context reading through the test's session, for loader tests."""
    return RequestContext(
        request=None, settings=settings, sessionmaker=None, redis=None, viewer=viewer, session=db
    )


def errors_codes(result: Any) -> set[str]:
    return {e.extensions.get("code") for e in result.errors or []}
