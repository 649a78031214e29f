"""The daily rollup of flag usage: one UTC day summed per flag, the same rows however often it runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from models.flags import FeatureFlag, FlagDailyAnalytics, FlagUsage
from resolvers.flags.usage_writes import rollup_flag_usage, yesterday_utc
from tests.models import factories as f

DAY = dt.date(2024, 3, 10)
MIDNIGHT = dt.datetime(2024, 3, 10, tzinfo=dt.UTC)
COLUMNS = (
    "id",
    "flag_id",
    "date",
    "total_users",
    "total_checks",
    "enabled_count",
    "disabled_count",
    "error_count",
    "cache_hits",
    "response_time_ms_total",
    "created_at",
    "updated_at",
)


async def analytics(db: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await db.scalars(
        select(FlagDailyAnalytics)
        .order_by(FlagDailyAnalytics.flag_id, FlagDailyAnalytics.date)
        .execution_options(populate_existing=True)
    )
    return [tuple(getattr(r, c) for c in COLUMNS) for r in rows]


async def checks_of_a_day(db: AsyncSession, flag: FeatureFlag) -> None:
    """Four checks on DAY (two users, one anonymous) and one just before and after it."""
    alice, bob = await f.make_user(db), await f.make_user(db)
    for at, user, on, error, hit, ms in (
        (MIDNIGHT, alice, True, False, True, 1.5),
        (MIDNIGHT + dt.timedelta(hours=5), alice, False, False, False, 2.25),
        (MIDNIGHT + dt.timedelta(hours=23, minutes=59), bob, True, True, True, None),
        (MIDNIGHT + dt.timedelta(hours=12), None, None, False, None, 0.1),
        (MIDNIGHT - dt.timedelta(microseconds=1), alice, True, False, True, 100.0),
        (MIDNIGHT + dt.timedelta(days=1), bob, True, False, True, 100.0),
    ):
        await f.make_feature_flag_usage(
            db,
            flag_id=flag.id,
            user_id=None if user is None else user.id,
            accessed_at=at,
            value_used=on,
            error=error,
            cache_hit=hit,
            response_time_ms=ms,
        )


async def test_a_day_is_summed_per_flag(db: AsyncSession) -> None:
    # given checks of one flag on the day and around it, and a flag not checked that day
    flag, idle = await f.make_feature_flag(db), await f.make_feature_flag(db)
    await checks_of_a_day(db, flag)

    # when the day is rolled up
    written = await rollup_flag_usage(db, day=DAY)

    # then only the day's four checks count, in one row for the checked flag
    assert written == 1
    row = await db.scalar(select(FlagDailyAnalytics).where(FlagDailyAnalytics.flag_id == flag.id))
    assert row is not None and row.date == DAY
    sums = (
        row.total_users,
        row.total_checks,
        row.enabled_count,
        row.disabled_count,
        row.error_count,
        row.cache_hits,
    )
    assert sums == (2, 4, 2, 1, 1, 2)
    assert row.response_time_ms_total == 3.85
    assert await db.scalar(select(FlagDailyAnalytics).where(FlagDailyAnalytics.flag_id == idle.id)) is None


async def test_running_it_twice_gives_the_same_rows(db: AsyncSession) -> None:
    flag = await f.make_feature_flag(db)
    await checks_of_a_day(db, flag)

    await rollup_flag_usage(db, day=DAY)
    once = await analytics(db)
    again = await rollup_flag_usage(db, day=DAY)

    assert again == 0
    assert await analytics(db) == once


async def test_a_rerun_rebuilds_the_day_rather_than_adding(db: AsyncSession) -> None:
    # given a rolled-up day, and a late check of that day arriving afterwards
    flag = await f.make_feature_flag(db)
    await checks_of_a_day(db, flag)
    await rollup_flag_usage(db, day=DAY)
    await f.make_feature_flag_usage(db, flag_id=flag.id, accessed_at=MIDNIGHT + dt.timedelta(hours=1))

    # when the day is rolled up again
    assert await rollup_flag_usage(db, day=DAY) == 1

    # then the row holds the five checks, not nine
    row = await db.scalar(
        select(FlagDailyAnalytics)
        .where(FlagDailyAnalytics.flag_id == flag.id)
        .execution_options(populate_existing=True)
    )
    assert (row.total_checks, row.total_users) == (5, 2)


async def test_a_day_whose_checks_were_pruned_keeps_its_row(db: AsyncSession) -> None:
    # given a rollup row whose raw checks are gone (retention)
    flag = await f.make_feature_flag(db)
    await f.make_feature_flag_analytics(db, flag_id=flag.id, date=DAY, total_checks=7, total_users=3)

    assert await rollup_flag_usage(db, day=DAY) == 0

    assert [(r[1], r[3], r[4]) for r in await analytics(db)] == [(flag.id, 3, 7)]


def test_the_command_defaults_to_yesterday_utc() -> None:
    assert yesterday_utc() == dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


async def test_reruns_in_later_transactions_leave_the_rows_untouched(
    scratch_db_url: str, settings: Settings
) -> None:
    # given committed checks in a database of its own
    engine = create_engine(scratch_db_url, settings, pool_size=1)
    sessions = create_sessionmaker(engine)

    async def rollup() -> int:
        # as `python server.py rollup-flag-usage --date 2024-03-10` runs it: one committed transaction
        async with sessions() as session, session.begin():
            return await rollup_flag_usage(session, day=DAY)

    try:
        async with sessions() as session, session.begin():
            flag_id = await session.scalar(select(FeatureFlag.id).order_by(FeatureFlag.id).limit(1))
            session.add_all(
                [
                    FlagUsage(flag_id=flag_id, app_type="mobile", accessed_at=MIDNIGHT, value_used=True),
                    FlagUsage(flag_id=flag_id, app_type="web", accessed_at=MIDNIGHT, value_used=False),
                ]
            )

        # when the day is rolled up, then again in a later transaction
        first = await rollup()
        async with sessions() as session:
            once = await analytics(session)
        second = await rollup()
        async with sessions() as session:
            again = await analytics(session)

        # then the second run changed nothing, not even updated_at
        assert (first, second) == (1, 0)
        assert [(r[1], r[2], r[4], r[5], r[6]) for r in once] == [(flag_id, DAY, 2, 1, 1)]
        assert again == once
    finally:
        await engine.dispose()
