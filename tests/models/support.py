"""Helpers shared by the model tests: run a statement that must fail, and name what rejected it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base


def violated_constraint(error: IntegrityError) -> str | None:
    """The constraint (or unique index) PostgreSQL named in the error (asyncpg's `constraint_name`)."""
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "constraint_name", None)


def sqlstate(error: IntegrityError) -> str | None:
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "sqlstate", None)


def table_of_constraint(name: str) -> str:
    for table in Base.metadata.tables.values():
        if any(c.name == name for c in table.constraints):
            return table.name
    raise LookupError(name)


async def rejected(
    db: AsyncSession,
    action: Callable[[], Awaitable[object]],
    *,
    drop_first: Iterable[str] = (),
) -> IntegrityError:
    """Run `action` in a SAVEPOINT that must fail with an IntegrityError; the session stays usable.

    `drop_first` names constraints that the same bad row cannot help violating too (a CHECK implied
    by another, a FK implied by a composite one): they are dropped inside the savepoint, whose
    rollback restores them, so the error can only name the constraint under test.
    """
    with pytest.raises(IntegrityError) as info:
        async with db.begin_nested():
            for name in drop_first:
                await db.execute(text(f"ALTER TABLE {table_of_constraint(name)} DROP CONSTRAINT {name}"))
            await action()
    return info.value
