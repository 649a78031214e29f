"""The four views of migration 0002 give the right figures on hand-made rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.models import factories as f


async def _view_rows(db: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await db.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


async def _one(db: AsyncSession, sql: str, **params: Any) -> dict[str, Any]:
    rows = await _view_rows(db, sql, **params)
    assert len(rows) == 1, rows
    return rows[0]


# v_campaign_performance_summary -----------------------------------------------------------------

CAMPAIGN_SUMMARY = "SELECT * FROM v_campaign_performance_summary WHERE campaign_id = :id"


async def _utc_today(db: AsyncSession) -> date:
    today = await db.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))
    assert isinstance(today, date)
    return today


async def test_campaign_summary_computes_rates_from_sums_over_90_days(db: AsyncSession) -> None:
    # given daily rows whose per-day ratios average to other values than the ratios of the sums
    # (daily ROAS 0.5, 10 and 3 average to 4.5; summed, 1200 / 250 = 4.8)
    today = await _utc_today(db)
    campaign = await f.make_campaign(db)
    days = [
        # (days ago, impressions, clicks, conversions, revenue, spend)
        (1, 1000, 10, 1, "50.00", "100.00"),
        (2, 100, 50, 25, "1000.00", "100.00"),
        (89, 900, 40, 4, "150.00", "50.00"),  # the oldest day of the window
        (90, 99_999, 9_999, 999, "99999.00", "1.00"),  # one day too old: excluded
    ]
    for ago, impressions, clicks, conversions, revenue, spend in days:
        await f.make_campaign_daily(
            db,
            campaign_id=campaign.id,
            date=today - timedelta(days=ago),
            impressions=impressions,
            clicks=clicks,
            conversions=conversions,
            revenue=Decimal(revenue),
            spend=Decimal(spend),
        )

    # when the summary is read
    row = await _one(db, CAMPAIGN_SUMMARY, id=campaign.id)

    # then totals and rates come from the three days of the window, rates from the sums
    assert (row["total_impressions"], row["total_clicks"], row["total_conversions"]) == (2000, 100, 30)
    assert (row["total_revenue"], row["total_spend"]) == (Decimal("1200.00"), Decimal("250.00"))
    assert row["click_through_rate"] == pytest.approx(100 / 2000)  # mean of daily CTRs: 0.185
    assert row["conversion_rate"] == pytest.approx(30 / 100)  # mean of daily rates: 0.233
    assert row["roas"] == Decimal("4.8")
    assert row["roi"] == Decimal("3.8")  # (1200 - 250) / 250
    assert row["avg_order_value"] == Decimal("40")  # 1200 / 30
    assert row["latest_date"] == today - timedelta(days=1)


async def test_campaign_summary_without_spend_or_clicks_has_null_rates(db: AsyncSession) -> None:
    today = await _utc_today(db)
    campaign = await f.make_campaign(db)
    await f.make_campaign_daily(db, campaign_id=campaign.id, date=today, impressions=10)

    row = await _one(db, CAMPAIGN_SUMMARY, id=campaign.id)

    assert row["click_through_rate"] == 0
    assert (row["roas"], row["roi"], row["conversion_rate"], row["avg_order_value"]) == (
        None,
        None,
        None,
        None,
    )


async def test_campaign_summary_omits_campaigns_with_only_old_rows(db: AsyncSession) -> None:
    today = await _utc_today(db)
    day = await f.make_campaign_daily(db, date=today - timedelta(days=90), impressions=10)

    assert await _view_rows(db, CAMPAIGN_SUMMARY, id=day.campaign_id) == []


# v_ab_test_summary ------------------------------------------------------------------------------

AB_SUMMARY = (
    "SELECT users_assigned, converted_users, total_conversions, total_revenue"
    " FROM v_ab_test_summary WHERE id = :id"
)


async def test_ab_summary_sums_assignments_once_despite_results(db: AsyncSession) -> None:
    # given a test with two variants, three assigned users (two converted) and two result rows
    control = await f.make_ab_test_variant(db, is_control=True)
    treatment = await f.make_ab_test_variant(db, test_id=control.test_id)
    for variant, conversions, revenue in (
        (control, 2, "30.00"),
        (treatment, 1, "20.50"),
        (treatment, 0, "0"),
    ):
        await f.make_ab_test_assignment(
            db,
            test_id=control.test_id,
            variant_id=variant.id,
            conversions=conversions,
            revenue=Decimal(revenue),
        )
    for variant in (control, treatment):
        await f.make_ab_test_result(db, test_id=control.test_id, variant_id=variant.id)

    # when the summary is read, then nothing is multiplied by the number of result rows
    row = await _one(db, AB_SUMMARY, id=control.test_id)
    assert row == {
        "users_assigned": 3,
        "converted_users": 2,
        "total_conversions": 3,
        "total_revenue": Decimal("50.50"),
    }


async def test_ab_summary_lists_a_test_without_assignments_with_zeros(db: AsyncSession) -> None:
    test = await f.make_ab_test(db)

    row = await _one(db, AB_SUMMARY, id=test.id)

    assert row == {"users_assigned": 0, "converted_users": 0, "total_conversions": 0, "total_revenue": 0}


# v_feature_flag_usage_summary -------------------------------------------------------------------

USAGE_SUMMARY = (
    "SELECT app_type, unique_users, anonymous_sessions, total_checks, last_accessed_at"
    " FROM v_feature_flag_usage_summary WHERE flag_id = :id ORDER BY app_type NULLS LAST"
)


async def _db_now(db: AsyncSession) -> datetime:
    now = await db.scalar(select(func.now()))
    assert isinstance(now, datetime)
    return now


async def test_usage_summary_counts_the_last_30_days_per_app(db: AsyncSession) -> None:
    # given checks by two users and an anonymous session, and one check 31 days old
    now = await _db_now(db)
    flag = await f.make_feature_flag(db)
    ann, bob, old = [await f.make_user(db) for _ in range(3)]
    checks = [
        (ann.id, None, "mobile", now - timedelta(hours=1)),
        (ann.id, None, "mobile", now - timedelta(hours=2)),
        (bob.id, None, "mobile", now - timedelta(days=29)),
        (None, "session-1", "mobile", now - timedelta(minutes=5)),
        (None, "session-1", "mobile", now - timedelta(minutes=6)),
        (ann.id, None, "web", now - timedelta(days=3)),
        (old.id, None, "mobile", now - timedelta(days=31)),
    ]
    for user_id, session_id, app_type, at in checks:
        await f.make_feature_flag_usage(
            db, flag_id=flag.id, user_id=user_id, session_id=session_id, app_type=app_type, accessed_at=at
        )

    # when the summary is read
    rows = await _view_rows(db, USAGE_SUMMARY, id=flag.id)

    # then users are counted once, the old check is left out
    assert rows == [
        {
            "app_type": "mobile",
            "unique_users": 2,
            "anonymous_sessions": 1,
            "total_checks": 5,
            "last_accessed_at": now - timedelta(minutes=5),
        },
        {
            "app_type": "web",
            "unique_users": 1,
            "anonymous_sessions": 0,
            "total_checks": 1,
            "last_accessed_at": now - timedelta(days=3),
        },
    ]


@pytest.mark.parametrize("usage_age_days", [None, 31], ids=["never_checked", "checked_long_ago"])
async def test_usage_summary_keeps_flags_without_recent_checks(
    db: AsyncSession, usage_age_days: int | None
) -> None:
    flag = await f.make_feature_flag(db)
    if usage_age_days is not None:
        now = await _db_now(db)
        await f.make_feature_flag_usage(db, flag_id=flag.id, accessed_at=now - timedelta(days=usage_age_days))

    rows = await _view_rows(db, USAGE_SUMMARY, id=flag.id)

    assert rows == [
        {
            "app_type": None,
            "unique_users": 0,
            "anonymous_sessions": 0,
            "total_checks": 0,
            "last_accessed_at": None,
        }
    ]


# v_active_feature_flags -------------------------------------------------------------------------


async def test_active_flags_view_lists_only_enabled_flags(db: AsyncSession) -> None:
    on = await f.make_feature_flag(db, enabled=True)
    off = await f.make_feature_flag(db, enabled=False)

    listed = set(await db.scalars(text("SELECT key FROM v_active_feature_flags")))
    enabled = set(await db.scalars(text("SELECT key FROM feature_flags WHERE enabled")))

    assert listed == enabled
    assert on.key in listed
    assert off.key not in listed
