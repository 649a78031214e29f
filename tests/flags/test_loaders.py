"""Each flag loader answers several keys with one statement, in key order, applying visibility."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import ANONYMOUS
from loaders.flags import (
    AuditCountByFlagLoader,
    AuditEntriesByFlagLoader,
    AuditWindow,
    DailyUsageByFlagLoader,
    FeatureFlagByIdLoader,
    FlagAuditEntryByIdLoader,
    RolloutsByFlagLoader,
    UsageTotals,
    UsageTotalsByFlagLoader,
)
from models.flags import FeatureFlag
from tests.flags.support import ADMIN, CUSTOMER, SERVICE
from tests.models import factories as f
from tests.support import context, counting_on

D1, D2 = f.D0, f.D0 + dt.timedelta(days=1)


async def _flags(db: AsyncSession, n: int) -> list[FeatureFlag]:
    return [await f.make_feature_flag(db) for _ in range(n)]


async def test_flags_by_id_in_key_order(db: AsyncSession, settings: Settings) -> None:
    a, b = await _flags(db, 2)
    loader = context(db, settings, ADMIN).loader(FeatureFlagByIdLoader)

    async with counting_on(db) as statements:
        rows = await loader.load_many([b.id, f.MISSING_ID, a.id])

    assert [None if r is None else r.id for r in rows] == [b.id, None, a.id]
    assert len(statements) == 1


async def test_flags_by_id_are_invisible_to_customers(db: AsyncSession, settings: Settings) -> None:
    (flag,) = await _flags(db, 1)
    assert await context(db, settings, CUSTOMER).loader(FeatureFlagByIdLoader).load(flag.id) is None


async def test_audit_entries_by_id_only_for_staff(db: AsyncSession, settings: Settings) -> None:
    a = await f.make_feature_flag_audit_entry(db)
    b = await f.make_feature_flag_audit_entry(db)
    loader = context(db, settings, ADMIN).loader(FlagAuditEntryByIdLoader)

    async with counting_on(db) as statements:
        rows = await loader.load_many([b.id, a.id])

    assert [r.id for r in rows] == [b.id, a.id]
    assert len(statements) == 1
    assert await context(db, settings, SERVICE).loader(FlagAuditEntryByIdLoader).load(a.id) is None


async def test_rollouts_by_flag_in_creation_order(db: AsyncSession, settings: Settings) -> None:
    a, b, empty = await _flags(db, 3)
    for flag, keys in ((a, ("z", "y")), (b, ("x",))):
        for key in keys:
            await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key=key)
    # evaluation reads rollouts for anyone, anonymous included
    loader = context(db, settings, ANONYMOUS).loader(RolloutsByFlagLoader)

    async with counting_on(db) as statements:
        groups = await loader.load_many([empty.id, a.id, b.id])

    assert [[r.variant_key for r in rows] for rows in groups] == [[], ["z", "y"], ["x"]]
    assert len(statements) == 1


async def test_audit_pages_of_many_flags_in_one_statement(db: AsyncSession, settings: Settings) -> None:
    # given two flags with three entries each, an hour apart
    a, b = await _flags(db, 2)
    for flag in (a, b):
        for hour in range(3):
            await f.make_feature_flag_audit_entry(
                db, flag_id=flag.id, flag_key=flag.key, created_at=f.T0 + dt.timedelta(hours=hour)
            )
    loader = context(db, settings, ADMIN).loader(AuditEntriesByFlagLoader)
    window = AuditWindow(size=1)
    older = AuditWindow(size=5, after=(f.T0 + dt.timedelta(hours=2), 0))

    # when both flags ask for the same window, and one of them for another window
    async with counting_on(db) as statements:
        pages = await loader.load_many([(b.id, window), (a.id, window), (a.id, older)])

    # then each gets size + 1 rows newest first (or what is older than the cursor), one statement per window
    assert [[r.created_at.hour - f.T0.hour for r in rows] for rows in pages] == [[2, 1], [2, 1], [1, 0]]
    assert {r.flag_id for r in pages[0]} == {b.id}
    assert len(statements) == 2


async def test_audit_pages_backwards_fetch_oldest_first(db: AsyncSession, settings: Settings) -> None:
    (flag,) = await _flags(db, 1)
    for hour in range(3):
        await f.make_feature_flag_audit_entry(
            db, flag_id=flag.id, flag_key=flag.key, created_at=f.T0 + dt.timedelta(hours=hour)
        )
    loader = context(db, settings, ADMIN).loader(AuditEntriesByFlagLoader)

    rows = await loader.load((flag.id, AuditWindow(size=1, backwards=True)))

    assert [r.created_at.hour - f.T0.hour for r in rows] == [0, 1]


async def test_audit_counts_by_flag(db: AsyncSession, settings: Settings) -> None:
    a, b = await _flags(db, 2)
    for _ in range(2):
        await f.make_feature_flag_audit_entry(db, flag_id=a.id, flag_key=a.key)
    loader = context(db, settings, ADMIN).loader(AuditCountByFlagLoader)

    async with counting_on(db) as statements:
        counts = await loader.load_many([b.id, a.id])

    assert counts == [0, 2]
    assert len(statements) == 1


async def _usage(db: AsyncSession) -> tuple[FeatureFlag, FeatureFlag]:
    a, b = await _flags(db, 2)
    for flag, checks in ((a, 10), (b, 20)):
        for date in (D1, D2):
            await f.make_feature_flag_analytics(
                db, flag_id=flag.id, date=date, total_checks=checks, total_users=checks // 2, cache_hits=1
            )
    return a, b


async def test_daily_usage_batches_flags_of_the_same_range(db: AsyncSession, settings: Settings) -> None:
    a, b = await _usage(db)
    loader = context(db, settings, SERVICE).loader(DailyUsageByFlagLoader)

    async with counting_on(db) as statements:
        groups = await loader.load_many([(b.id, D1, D2), (a.id, D1, D2), (a.id, D2, D2)])

    assert [[(r.date, r.total_checks) for r in rows] for rows in groups] == [
        [(D1, 20), (D2, 20)],
        [(D1, 10), (D2, 10)],
        [(D2, 10)],
    ]
    assert len(statements) == 2  # one per distinct range
    assert await context(db, settings, CUSTOMER).loader(DailyUsageByFlagLoader).load((a.id, D1, D2)) == []


async def test_usage_totals_sum_each_flags_days(db: AsyncSession, settings: Settings) -> None:
    a, b = await _usage(db)
    (unused,) = await _flags(db, 1)
    loader = context(db, settings, ADMIN).loader(UsageTotalsByFlagLoader)

    async with counting_on(db) as statements:
        totals = await loader.load_many([(a.id, D1, D2), (unused.id, D1, D2), (b.id, D1, D2)])

    assert totals[0] == UsageTotals(2, 10, 5, 20, 0, 0, 0, 2, 0.0)
    assert totals[1] == UsageTotals.zero()
    assert totals[2].total_checks == 40 and totals[2].peak_daily_users == 10
    assert len(statements) == 1


async def test_response_time_totals_do_not_depend_on_the_order_rows_are_summed(
    db: AsyncSession, settings: Settings
) -> None:
    # As floats, 1e16 + 1 + 1 is 1e16 in this order and 1e16 + 2 in the other: a sum that depends on
    # the scan order, which depends on the other flags of the batch. Summed exactly it is 1e16 + 2.
    (flag,) = await _flags(db, 1)
    for offset, milliseconds in enumerate((1e16, 1.0, 1.0)):
        await f.make_feature_flag_analytics(
            db, flag_id=flag.id, date=D1 + dt.timedelta(days=offset), response_time_ms_total=milliseconds
        )
    loader = context(db, settings, ADMIN).loader(UsageTotalsByFlagLoader)

    totals = await loader.load((flag.id, D1, D1 + dt.timedelta(days=2)))

    assert totals.response_time_ms_total == 1e16 + 2
