"""A dashboard page costs the same few SQL statements whatever the number of rows it shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign
from models.experiments import Experiment, ExperimentVariant
from models.merchants import Merchant
from tests.support import counting

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
# A page of 100 with every experiment's variants and results costs about 90,000 (each campaign is
# costed at 5 experiments of up to 20 variants), over the 50,000 limit: 40 is the largest page here.
PAGE_SIZES = (1, 10, 40)
DAYS = 30

DASHBOARD = """
query ($first: Int!, $range: DateRangeInput!) {
  campaigns(first: $first) {
    totalCount
    edges { node {
      name status
      merchant { name category { name colorCode } }
      experiments {
        key status variants { key weight }
        results { source winner variants { key users conversionRate uplift pValueAdjusted } }
      }
      dailyMetrics(range: $range) { date impressions clicks revenue clickThroughRate }
      performance(range: $range) { impressions revenue roas clickThroughRate averageOrderValue }
    } }
  }
}
"""
# campaigns (page) + totalCount + one statement per distinct relation field:
# merchant, category, experiments, variants, results, dailyMetrics, performance.
RELATION_FIELDS = 7


async def _dashboard_rows(db: AsyncSession, n: int, today: dt.date) -> None:
    """n campaigns, each with a merchant, an experiment of two variants and 30 days of metrics."""
    categories = [1, 2, 3]
    merchants = (
        (
            await db.execute(
                insert(Merchant).returning(Merchant.id),
                [
                    {
                        "code": f"qc-{i}",
                        "name": f"Merchant {i}",
                        "category_id": categories[i % 3],
                        "latitude": 40.7,
                        "longitude": -74.0,
                    }
                    for i in range(n)
                ],
            )
        )
        .scalars()
        .all()
    )
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    campaigns = (
        (
            await db.execute(
                insert(Campaign).returning(Campaign.id),
                [
                    {
                        "name": f"Campaign {i:03}",
                        "type": "email_offer",
                        "status": "running",
                        "starts_at": start,
                        "ends_at": start + dt.timedelta(days=900),
                        "budget": Decimal("100"),
                        "merchant_id": m,
                    }
                    for i, m in enumerate(merchants)
                ],
            )
        )
        .scalars()
        .all()
    )
    tests = (
        (
            await db.execute(
                insert(Experiment).returning(Experiment.id),
                [{"key": f"qc-test-{c}", "name": f"Test {c}", "campaign_id": c} for c in campaigns],
            )
        )
        .scalars()
        .all()
    )
    await db.execute(
        insert(ExperimentVariant),
        [
            {"test_id": t, "key": key, "name": key, "is_control": key == "control", "weight": 500}
            for t in tests
            for key in ("control", "treatment")
        ],
    )
    await db.execute(
        insert(CampaignDailyMetrics),
        [
            {
                "campaign_id": c,
                "date": today - dt.timedelta(days=d),
                "impressions": 1000,
                "clicks": 50,
                "conversions": 5,
                "revenue": Decimal("250.00"),
                "spend": Decimal("100.00"),
            }
            for c in campaigns
            for d in range(DAYS)
        ],
    )


async def test_dashboard_statement_count_does_not_grow_with_rows(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a hundred fully populated campaigns
    today = dt.datetime.now(dt.UTC).date()
    await _dashboard_rows(db, 100, today)
    window = {"start": (today - dt.timedelta(days=DAYS - 1)).isoformat(), "end": today.isoformat()}

    # when a dashboard asks for pages of 1, 10 and 100 of them with every nested relation
    counts = {}
    for page_size in PAGE_SIZES:
        with counting((await db.connection()).sync_connection) as statements:
            result = await gql(DASHBOARD, {"first": page_size, "range": window}, viewer=ADMIN)
        assert result.errors is None, result.errors
        edges = result.data["campaigns"]["edges"]
        assert len(edges) == page_size
        node = edges[-1]["node"]
        assert node["merchant"]["category"]["name"]
        experiment = node["experiments"][0]
        assert [v["key"] for v in experiment["variants"]] == ["control", "treatment"]
        assert experiment["results"]["source"] == "LIVE"
        assert len(node["dailyMetrics"]) == DAYS
        assert node["performance"]["roas"] == pytest.approx(2.5)
        counts[page_size] = len(statements)

    # then every page cost the same statements: one per relation field, plus the page and its count
    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= RELATION_FIELDS + 2, counts
