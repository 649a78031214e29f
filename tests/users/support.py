"""Viewers, ids and a statement counter shared by the users-domain tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.context import RequestContext
from core.settings import Settings
from core.viewer import Role, Viewer

ADMIN = Viewer(role=Role.ADMIN, user_id=None)
MARKETER = Viewer(role=Role.MARKETER, user_id=None)
SERVICE = Viewer(role=Role.SERVICE)


def customer(user_id: int) -> Viewer:
    return Viewer(role=Role.CUSTOMER, user_id=user_id)


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def codes(result: Any) -> set[str]:
    return {e.extensions.get("code") for e in result.errors or []}


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def context(db: AsyncSession, settings: Settings, viewer: Viewer) -> RequestContext:
    """A request context reading through the test's session (what the `gql` fixture builds)."""
    return RequestContext(
        request=None, settings=settings, sessionmaker=None, redis=None, viewer=viewer, session=db
    )


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
