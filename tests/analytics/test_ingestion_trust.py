"""Who may say what in recordCampaignEvents: a customer's device reports impressions and clicks of running
campaigns whose audience includes it, under segments it is in; conversions and revenue come from
services only; a customer never learns whether a campaign exists; an erased account reports nothing.
The daily bound and the client event ids: test_ingestion_receipts.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Role, Viewer
from models.analytics import CampaignDailyMetrics, CampaignSegmentMetrics
from models.users import User
from tests.analytics.support import SERVICE, campaign_gid
from tests.analytics.test_ingestion import AT, event, live_campaign, rows, total_rows
from tests.models import factories as f

RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted rejected userErrors { field message code } }
}
"""
RECORD_COUNTING_DUPLICATES = RECORD.replace("rejected", "rejected duplicates")


async def customer(db: AsyncSession, **o: Any) -> tuple[User, Viewer]:
    user = await f.make_user(db, role="customer", **o)
    return user, Viewer(role=Role.CUSTOMER, user_id=user.id)


async def record(gql, viewer: Viewer, events: list[dict[str, Any]], document: str = RECORD) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = await gql(document, {"input": {"events": events}}, viewer=viewer)
    assert result.errors is None, result.errors
    return result.data["recordCampaignEvents"]


async def daily(db: AsyncSession, campaign_id: int) -> tuple[int, int, int, Decimal] | None:
    found = await rows(db, CampaignDailyMetrics, campaign_id)
    for row in found:
        await db.refresh(row)
    return (
        None if not found else (found[0].impressions, found[0].clicks, found[0].conversions, found[0].revenue)
    )


async def test_a_customer_may_not_report_conversions_or_revenue(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a running campaign for everyone and a signed-in customer
    campaign = await live_campaign(db)
    _, viewer = await customer(db)

    # when the customer's app sends an impression, two conversions (one worth a million) and a
    # click carrying revenue
    payload = await record(
        gql,
        viewer,
        [
            event(campaign.id),
            event(campaign.id, "CONVERSION", revenue="1000000.00"),
            event(campaign.id, "CONVERSION"),
            event(campaign.id, "CLICK", revenue="5.00"),
        ],
    )

    # then only the impression counts: conversions and revenue come from services
    assert (payload["accepted"], payload["rejected"]) == (1, 3)
    assert {(e["field"], e["code"]) for e in payload["userErrors"]} == {
        ("events.1.type", "FORBIDDEN"),
        ("events.1.revenue", "FORBIDDEN"),
        ("events.2.type", "FORBIDDEN"),
        ("events.3.revenue", "FORBIDDEN"),
    }
    assert await daily(db, campaign.id) == (1, 0, 0, Decimal("0"))


async def test_a_service_still_reports_conversions_with_revenue(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    payload = await record(gql, SERVICE, [event(campaign.id, "CONVERSION", revenue="1000000.00")])

    assert payload["accepted"] == 1
    assert await daily(db, campaign.id) == (0, 0, 1, Decimal("1000000.00"))


@pytest.mark.parametrize(
    ("target", "tier", "counted"),
    [
        (None, "bronze", True),
        ("all_users", "bronze", True),
        ("gold_and_above", "gold", True),
        ("gold_and_above", "platinum", True),
        ("gold_and_above", "silver", False),
        ("Silver", "silver", True),
        ("platinum", "gold", False),
        # segments the database cannot decide (a CRM's, the ML pipeline's): no customer is known to be in it
        ("loyal_customers", "platinum", False),
    ],
)
async def test_a_customer_reports_only_campaigns_whose_audience_includes_them(
    db: AsyncSession, gql, target: str | None, tier: str, counted: bool
) -> None:  # type: ignore[no-untyped-def]
    # given a running campaign aimed at a segment, and a customer of a tier, a member for a year
    campaign = await live_campaign(db)
    campaign.target_segment = target
    _, viewer = await customer(db, loyalty_tier=tier, created_at=AT - dt.timedelta(days=365))
    await db.flush()

    payload = await record(gql, viewer, [event(campaign.id), event(campaign.id, "CLICK")])

    assert payload["accepted"] == (2 if counted else 0)
    assert await daily(db, campaign.id) == ((1, 1, 0, Decimal("0")) if counted else None)


async def test_new_users_are_accounts_of_the_last_30_days(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    campaign.target_segment = "new_users"
    _, newcomer = await customer(db, created_at=AT - dt.timedelta(days=3))
    _, veteran = await customer(db, created_at=AT - dt.timedelta(days=90))
    await db.flush()

    assert (await record(gql, newcomer, [event(campaign.id)]))["accepted"] == 1
    assert (await record(gql, veteran, [event(campaign.id)]))["accepted"] == 0


async def test_a_customer_counts_only_under_a_segment_they_are_in(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    _, viewer = await customer(db, loyalty_tier="silver", created_at=AT - dt.timedelta(days=365))

    payload = await record(
        gql, viewer, [event(campaign.id, segment="silver"), event(campaign.id, segment="high_value")]
    )

    assert (payload["accepted"], payload["rejected"]) == (1, 1)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("events.1.segment", "INVALID")]
    segments = [(s.segment_name, s.impressions) for s in await rows(db, CampaignSegmentMetrics, campaign.id)]
    assert segments == [("silver", 1)]


async def test_a_customer_gets_one_answer_for_every_campaign_they_may_not_report_on(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    # given campaigns the customer may not report on for every reason there is, and one they may
    _, viewer = await customer(db, loyalty_tier="bronze")
    targeted = await live_campaign(db)
    targeted.target_segment = "platinum"
    await db.flush()
    draft = await f.make_campaign(db, status="draft")
    refused = [
        campaign_gid(f.MISSING_ID),
        relay.to_base64("Merchant", 1),
        campaign_gid(draft.id),
        campaign_gid((await live_campaign(db, "scheduled")).id),
        campaign_gid((await live_campaign(db, "paused")).id),
        campaign_gid((await live_campaign(db, "completed")).id),
        campaign_gid((await live_campaign(db, "archived")).id),
        campaign_gid(targeted.id),
    ]
    allowed = await live_campaign(db)

    payload = await record(
        gql, viewer, [{**event(allowed.id), "campaignId": gid} for gid in refused] + [event(allowed.id)]
    )

    # then each is refused in the same words and code: whether it exists does not show
    assert (payload["accepted"], payload["rejected"]) == (1, len(refused))
    errors = payload["userErrors"]
    assert [e["field"] for e in errors] == [f"events.{i}.campaignId" for i in range(len(refused))]
    assert len({(e["message"], e["code"]) for e in errors}) == 1
    assert errors[0]["code"] == "NOT_FOUND"


async def test_an_erased_account_reports_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer erased while their access token is still valid
    campaign = await live_campaign(db)
    user, viewer = await customer(db)
    user.deleted_at, user.email, user.name = AT, None, None
    await db.flush()

    result = await gql(RECORD, {"input": {"events": [event(campaign.id)]}}, viewer=viewer)

    assert result.data["recordCampaignEvents"]["accepted"] == 0
    assert await total_rows(db) == 0
    stored = await db.scalar(select(User.deleted_at).where(User.id == user.id))
    assert stored is not None
