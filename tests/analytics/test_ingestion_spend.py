"""recordCampaignSpend: SET or ADD a day's spend, audited; validation writes nothing; who may record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.analytics import CampaignDailyMetrics
from tests.analytics.support import SERVICE, campaign_gid
from tests.analytics.test_ingestion import live_campaign
from tests.models import factories as f

SPEND = """
mutation ($input: RecordCampaignSpendInput!) {
  recordCampaignSpend(input: $input) {
    metrics { date impressions spend }
    userErrors { field message code }
  }
}
"""
MARKETER = Viewer(role=Role.MARKETER, user_id=None)
TODAY = dt.datetime.now(dt.UTC).date()
DAY = TODAY - dt.timedelta(days=1)


def spend_input(campaign_id: int, amount: str, **extra: object) -> dict[str, object]:
    return {
        "input": {"campaignId": campaign_gid(campaign_id), "date": DAY.isoformat(), "amount": amount, **extra}
    }


async def audit_rows(db: AsyncSession, campaign_id: int) -> list[AuditLogEntry]:
    statement = select(AuditLogEntry).where(AuditLogEntry.entity_id == campaign_id).order_by(AuditLogEntry.id)
    return list((await db.scalars(statement)).all())


async def test_set_creates_the_day_and_add_adds_to_it(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    first = await gql(SPEND, spend_input(campaign.id, "100.00"), viewer=MARKETER)
    second = await gql(SPEND, spend_input(campaign.id, "25.50", mode="ADD"), viewer=SERVICE)
    third = await gql(SPEND, spend_input(campaign.id, "80"), viewer=MARKETER)

    assert first.errors is None, first.errors
    assert first.data["recordCampaignSpend"] == {
        "metrics": {"date": DAY.isoformat(), "impressions": 0, "spend": "100.00"},
        "userErrors": [],
    }
    assert second.data["recordCampaignSpend"]["metrics"]["spend"] == "125.50"
    assert third.data["recordCampaignSpend"]["metrics"]["spend"] == "80.00"
    audit = await audit_rows(db, campaign.id)
    assert [(a.action, a.entity_type, a.actor_role) for a in audit] == [
        ("campaign.spend", "campaign", "marketer"),
        ("campaign.spend", "campaign", "service"),
        ("campaign.spend", "campaign", "marketer"),
    ]
    assert audit[0].before == {"date": DAY.isoformat(), "spend": None}
    assert audit[1].before["spend"] == "100.00"
    assert audit[1].after == {"date": DAY.isoformat(), "spend": "125.50", "mode": "add", "amount": "25.50"}


async def test_spend_leaves_the_counts_alone(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    await f.make_campaign_daily(db, campaign_id=campaign.id, date=DAY, impressions=40, spend=Decimal("3"))

    result = await gql(SPEND, spend_input(campaign.id, "2", mode="ADD"), viewer=MARKETER)

    assert result.data["recordCampaignSpend"]["metrics"] == {
        "date": DAY.isoformat(),
        "impressions": 40,
        "spend": "5.00",
    }


@pytest.mark.parametrize(
    ("amount", "extra", "field", "code"),
    [
        ("-1", {}, "amount", "OUT_OF_RANGE"),
        ("10000000000.00", {}, "amount", "OUT_OF_RANGE"),
        ("1.001", {}, "amount", "INVALID"),
        ("1", {"date": (TODAY + dt.timedelta(days=1)).isoformat()}, "date", "OUT_OF_RANGE"),
        ("1", {"campaignId": campaign_gid(f.MISSING_ID)}, "campaignId", "NOT_FOUND"),
        ("1", {"campaignId": relay.to_base64("Merchant", 1)}, "campaignId", "NOT_FOUND"),
    ],
    ids=[
        "negative",
        "too large",
        "fractions of a cent",
        "future day",
        "unknown campaign",
        "not a campaign id",
    ],
)
async def test_invalid_spend_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, amount: str, extra: dict[str, str], field: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    result = await gql(SPEND, spend_input(campaign.id, amount, **extra), viewer=MARKETER)

    payload = result.data["recordCampaignSpend"]
    assert payload["metrics"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await db.scalar(select(func.count()).select_from(CampaignDailyMetrics)) == 0
    assert await audit_rows(db, campaign.id) == []


async def test_an_archived_campaign_takes_no_spend(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db, "archived")
    result = await gql(SPEND, spend_input(campaign.id, "1"), viewer=MARKETER)
    assert result.data["recordCampaignSpend"]["userErrors"][0]["code"] == "INVALID"


async def test_adding_beyond_the_column_is_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    await f.make_campaign_daily(db, campaign_id=campaign.id, date=DAY, spend=Decimal("9999999999.00"))

    result = await gql(SPEND, spend_input(campaign.id, "1.00", mode="ADD"), viewer=MARKETER)

    assert result.data["recordCampaignSpend"]["userErrors"][0]["field"] == "amount"
    assert await audit_rows(db, campaign.id) == []


async def test_a_retry_with_the_same_key_adds_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    variables = spend_input(campaign.id, "10", mode="ADD", idempotencyKey="spend-1")

    first = await gql(SPEND, variables, viewer=MARKETER)
    second = await gql(SPEND, variables, viewer=MARKETER)

    assert first.data == second.data
    assert second.data["recordCampaignSpend"]["metrics"]["spend"] == "10.00"
    assert len(await audit_rows(db, campaign.id)) == 1


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        Viewer(role=Role.CUSTOMER, user_id=1),
        ANONYMOUS,
    ],
    ids=["analyst", "merchant", "customer", "anonymous"],
)
async def test_only_marketers_admins_and_services_record_spend(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    result = await gql(SPEND, spend_input(campaign.id, "1"), viewer=viewer)

    assert result.data == {"recordCampaignSpend": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await db.scalar(select(func.count()).select_from(CampaignDailyMetrics)) == 0


async def test_admins_record_spend(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    result = await gql(SPEND, spend_input(campaign.id, "1"), viewer=Viewer(role=Role.ADMIN, user_id=None))
    assert result.data["recordCampaignSpend"]["metrics"]["spend"] == "1.00"
