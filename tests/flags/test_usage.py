"""Flag usage analytics: daily rows, totals with rates from sums, the flagUsage list, statement counts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Viewer
from models.flags import FeatureFlag
from tests.flags.support import ADMIN, ANALYST, CUSTOMER, MERCHANT, SERVICE, utc_now, without_seeded_flags
from tests.models import factories as f
from tests.support import codes, counting_on

D1, D2, D3 = f.D0, f.D0 + dt.timedelta(days=1), f.D0 + dt.timedelta(days=2)
RANGE = {"start": D1.isoformat(), "end": D3.isoformat()}

USAGE = """
query ($key: String!, $range: DateRangeInput) {
  flag(key: $key) {
    usage(range: $range) {
      date totalUsers totalChecks enabledCount disabledCount errorCount
      cacheHitRate avgResponseTimeMs errorRate
    }
    usageSummary(range: $range) {
      start end daysWithUsage userDays peakDailyUsers totalChecks enabledCount disabledCount errorCount
      cacheHitRate avgResponseTimeMs errorRate
    }
  }
}
"""
FLAG_USAGE = """
query ($range: DateRangeInput, $filter: FlagFilterInput, $first: Int) {
  flagUsage(range: $range, filter: $filter, first: $first) {
    totalCount
    edges {
      node { flagKey flagName start end summary { totalChecks cacheHitRate } days { date totalChecks } }
    }
  }
}
"""
DASHBOARD = """
query ($first: Int!, $range: DateRangeInput!) {
  flags(first: $first) {
    totalCount
    edges { node {
      key isStale
      rollouts { variantKey weight }
      auditLog(first: 2) { totalCount edges { node { action createdAt } } }
      usage(range: $range) { date totalChecks cacheHitRate }
      usageSummary(range: $range) { totalChecks avgResponseTimeMs }
    } }
  }
}
"""


async def _flag_with_usage(db: AsyncSession, key: str) -> FeatureFlag:
    """Two busy days whose ratios differ, a day without checks, and a day outside RANGE."""
    flag = await f.make_feature_flag(db, key=key, enabled=True)
    days = [
        (D1, 10, 100, 60, 40, 2, 90, 500.0),
        (D2, 30, 300, 200, 100, 0, 30, 3000.0),
        (D3, 0, 0, 0, 0, 0, 0, 0.0),
        (D1 - dt.timedelta(days=1), 99, 999, 0, 0, 0, 0, 0.0),
    ]
    for date, users, checks, on, off, errors, hits, response_ms in days:
        await f.make_feature_flag_analytics(
            db,
            flag_id=flag.id,
            date=date,
            total_users=users,
            total_checks=checks,
            enabled_count=on,
            disabled_count=off,
            error_count=errors,
            cache_hits=hits,
            response_time_ms_total=response_ms,
        )
    return flag


async def test_daily_usage_and_its_rates(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _flag_with_usage(db, "used")

    result = await gql(USAGE, {"key": "used", "range": RANGE}, viewer=ANALYST)

    assert result.errors is None, result.errors
    days = result.data["flag"]["usage"]
    assert [d["date"] for d in days] == [D1.isoformat(), D2.isoformat(), D3.isoformat()]
    assert days[0] == {
        "date": D1.isoformat(),
        "totalUsers": 10,
        "totalChecks": 100,
        "enabledCount": 60,
        "disabledCount": 40,
        "errorCount": 2,
        "cacheHitRate": pytest.approx(0.9),
        "avgResponseTimeMs": pytest.approx(5.0),
        "errorRate": pytest.approx(0.02),
    }
    # a day without checks has no rates rather than a division by zero
    assert (days[2]["cacheHitRate"], days[2]["avgResponseTimeMs"], days[2]["errorRate"]) == (None, None, None)


async def test_the_summary_computes_rates_from_sums(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _flag_with_usage(db, "used")

    result = await gql(USAGE, {"key": "used", "range": RANGE}, viewer=ADMIN)

    # averaging the daily rates would give a cache hit rate of 0.5 and 7.5 ms
    assert result.data["flag"]["usageSummary"] == {
        "start": D1.isoformat(),
        "end": D3.isoformat(),
        "daysWithUsage": 3,
        "userDays": 40,
        "peakDailyUsers": 30,
        "totalChecks": 400,
        "enabledCount": 260,
        "disabledCount": 140,
        "errorCount": 2,
        "cacheHitRate": pytest.approx(0.3),
        "avgResponseTimeMs": pytest.approx(8.75),
        "errorRate": pytest.approx(0.005),
    }


async def test_the_default_range_is_the_last_thirty_days(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="recent")
    today = utc_now().date()
    for days_ago in (0, 29, 30):
        await f.make_feature_flag_analytics(
            db, flag_id=flag.id, date=today - dt.timedelta(days=days_ago), total_checks=1
        )

    result = await gql(USAGE, {"key": "recent"}, viewer=ADMIN)

    assert [d["date"] for d in result.data["flag"]["usage"]] == [
        (today - dt.timedelta(days=29)).isoformat(),
        today.isoformat(),
    ]
    assert result.data["flag"]["usageSummary"]["totalChecks"] == 2


async def test_a_flag_without_usage_has_zero_totals(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_feature_flag(db, key="unused")

    result = await gql(USAGE, {"key": "unused", "range": RANGE}, viewer=ADMIN)

    assert result.data["flag"]["usage"] == []
    summary = result.data["flag"]["usageSummary"]
    assert (summary["totalChecks"], summary["userDays"], summary["cacheHitRate"]) == (0, 0, None)


@pytest.mark.parametrize(
    "bad_range",
    [{"start": "2024-01-02", "end": "2024-01-01"}, {"start": "2022-01-01", "end": "2024-01-01"}],
    ids=["start after end", "over a year"],
)
async def test_bad_ranges_are_refused(db: AsyncSession, gql, bad_range: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    await f.make_feature_flag(db, key="used")
    by_flag = await gql(USAGE, {"key": "used", "range": bad_range}, viewer=ADMIN)
    listed = await gql(FLAG_USAGE, {"range": bad_range}, viewer=SERVICE)
    assert "BAD_USER_INPUT" in codes(by_flag)
    assert codes(listed) == {"BAD_USER_INPUT"}


async def test_services_read_usage_of_every_flag(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given two flags with usage and one off flag without
    await without_seeded_flags(db)
    await _flag_with_usage(db, "a_used")
    await _flag_with_usage(db, "b_used")
    await f.make_feature_flag(db, key="c_unused", enabled=False)

    # when a service lists the usage of every flag, and of the disabled ones
    every = await gql(FLAG_USAGE, {"range": RANGE}, viewer=SERVICE)
    disabled = await gql(FLAG_USAGE, {"range": RANGE, "filter": {"enabled": False}}, viewer=SERVICE)

    # then each flag comes by key with its summary and days
    assert every.errors is None, every.errors
    nodes = [e["node"] for e in every.data["flagUsage"]["edges"]]
    assert [n["flagKey"] for n in nodes] == ["a_used", "b_used", "c_unused"]
    assert every.data["flagUsage"]["totalCount"] == 3
    assert nodes[0]["summary"] == {"totalChecks": 400, "cacheHitRate": pytest.approx(0.3)}
    assert [d["totalChecks"] for d in nodes[1]["days"]] == [100, 300, 0]
    assert nodes[2]["summary"]["totalChecks"] == 0 and nodes[2]["days"] == []
    assert (nodes[0]["start"], nodes[0]["end"]) == (D1.isoformat(), D3.isoformat())
    assert [e["node"]["flagKey"] for e in disabled.data["flagUsage"]["edges"]] == ["c_unused"]


@pytest.mark.parametrize("viewer", [CUSTOMER, MERCHANT], ids=lambda v: v.role.value)
async def test_flag_usage_is_refused_to_users_and_merchants(gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    result = await gql(FLAG_USAGE, {"first": 1}, viewer=viewer)
    assert "FORBIDDEN" in codes(result)


async def _dashboard_flags(db: AsyncSession, n: int) -> None:
    await without_seeded_flags(db)
    for i in range(n):
        flag = await _flag_with_usage(db, f"flag_{i:02}")
        for key in ("a", "b"):
            await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key=key, weight=500)
        for _ in range(3):
            await f.make_feature_flag_audit_entry(db, flag_id=flag.id, flag_key=flag.key)


@pytest.mark.parametrize("page_size", [2, 8])
async def test_flag_dashboard_statement_count_does_not_grow_with_rows(
    db: AsyncSession, gql, page_size: int
) -> None:  # type: ignore[no-untyped-def]
    # given eight flags, each with variants, an audit trail and usage
    await _dashboard_flags(db, 8)

    # when a page of them is read with every nested field
    async with counting_on(db) as statements:
        result = await gql(DASHBOARD, {"first": page_size, "range": RANGE}, viewer=ADMIN)

    # then: page, totalCount, rollouts, audit page, audit count, usage and summary, whatever the page size
    assert result.errors is None, result.errors
    edges = result.data["flags"]["edges"]
    assert len(edges) == page_size
    node = edges[-1]["node"]
    assert [r["variantKey"] for r in node["rollouts"]] == ["a", "b"]
    assert len(node["auditLog"]["edges"]) == 2 and node["auditLog"]["totalCount"] == 3
    assert len(node["usage"]) == 3 and node["usageSummary"]["totalChecks"] == 400
    assert len(statements) == 7, statements


@pytest.mark.parametrize("page_size", [2, 8])
async def test_flag_usage_statement_count_does_not_grow_with_rows(
    db: AsyncSession, gql, page_size: int
) -> None:  # type: ignore[no-untyped-def]
    await _dashboard_flags(db, 8)

    async with counting_on(db) as statements:
        result = await gql(FLAG_USAGE, {"first": page_size, "range": RANGE}, viewer=SERVICE)

    # page, totalCount, summaries, days
    assert result.errors is None, result.errors
    assert len(result.data["flagUsage"]["edges"]) == page_size
    assert len(statements) == 4, statements
