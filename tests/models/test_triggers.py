"""The triggers of migration 0002 (and of later migrations' tables): updated_at on every UPDATE, and
the rewards ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base
from models.users import RewardEntry, User
from tests.models import factories as f
from tests.models.factories import FACTORIES
from tests.models.support import rejected, sqlstate, violated_constraint

# Every model with the column; each one's trigger is proven by the test below, on the migrated database.
TABLES_WITH_UPDATED_AT = sorted(t.name for t in Base.metadata.tables.values() if "updated_at" in t.c)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


async def test_every_table_with_updated_at_has_the_trigger(db: AsyncSession) -> None:
    found = await db.scalars(
        text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'set_updated_at' AND NOT t.tgisinternal"
        )
    )
    assert set(found.all()) >= set(TABLES_WITH_UPDATED_AT)


@pytest.mark.parametrize("table", TABLES_WITH_UPDATED_AT)
async def test_update_sets_updated_at_to_now(db: AsyncSession, table: str) -> None:
    # given a row
    row = await FACTORIES[table](db)

    # when an UPDATE tries to store an old updated_at
    stored = await db.scalar(
        text(f"UPDATE {table} SET updated_at = :old WHERE id = :id RETURNING updated_at"),
        {"old": LONG_AGO, "id": row.id},
    )

    # then the trigger has replaced it with now() (the transaction's start)
    assert stored == await db.scalar(select(func.now()))
    assert stored != LONG_AGO


async def _points(db: AsyncSession, user_id: int) -> int | None:
    return await db.scalar(select(User.reward_points).where(User.id == user_id))


async def test_ledger_entries_update_the_balance(db: AsyncSession) -> None:
    user = await f.make_user(db)

    await f.make_reward_entry(db, user_id=user.id, kind="earn", points=100)
    await f.make_reward_entry(db, user_id=user.id, kind="redeem", points=-30)
    await f.make_reward_entry(db, user_id=user.id, kind="expire", points=-5)
    await f.make_reward_entry(db, user_id=user.id, kind="adjust", points=7)

    assert await _points(db, user.id) == 72


async def test_redeeming_more_than_the_balance_is_rejected(db: AsyncSession) -> None:
    user = await f.make_user(db)
    await f.make_reward_entry(db, user_id=user.id, kind="earn", points=50)

    error = await rejected(db, lambda: f.make_reward_entry(db, user_id=user.id, kind="redeem", points=-51))

    assert violated_constraint(error) == "ck_users_reward_points_non_negative"
    assert await _points(db, user.id) == 50
    entries = await db.scalar(
        select(func.count()).select_from(RewardEntry).where(RewardEntry.user_id == user.id)
    )
    assert entries == 1


async def test_ledger_rows_cannot_be_updated(db: AsyncSession) -> None:
    entry = await f.make_reward_entry(db, points=10)
    statement = update(RewardEntry).where(RewardEntry.id == entry.id).values(points=1000)

    error = await rejected(
        db, lambda: db.execute(statement, execution_options={"synchronize_session": False})
    )

    assert sqlstate(error) == "23001"  # restrict_violation
    assert "append-only" in str(error.orig)
    assert await _points(db, entry.user_id) == 10


async def test_ledger_rows_cannot_be_deleted(db: AsyncSession) -> None:
    entry = await f.make_reward_entry(db, points=10)
    statement = delete(RewardEntry).where(RewardEntry.id == entry.id)

    error = await rejected(
        db, lambda: db.execute(statement, execution_options={"synchronize_session": False})
    )

    assert sqlstate(error) == "23001"
    assert await db.scalar(select(RewardEntry.id).where(RewardEntry.id == entry.id)) == entry.id
