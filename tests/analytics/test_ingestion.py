"""recordCampaignEvents: events appended, then folded into the daily, segment and hourly metrics;
invalid events reported by index while the valid ones are kept; who may report; retries; a fixed
statement count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.analytics import CampaignDailyMetrics, CampaignHourlyTrend, CampaignSegmentMetrics
from models.campaigns import Campaign
from tests.analytics.support import SERVICE, campaign_gid
from tests.models import factories as f
from tests.support import counting, fold_now

RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted rejected userErrors { field message code } }
}
"""
NOW = dt.datetime.now(dt.UTC)
# Two hours ago, on the hour plus 10 minutes: the hourly row of every event below is known.
AT = (NOW - dt.timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)
HOUR = AT.replace(minute=0)
METRIC_TABLES = (CampaignDailyMetrics, CampaignSegmentMetrics, CampaignHourlyTrend)


async def live_campaign(db: AsyncSession, status: str = "running") -> Campaign:
    return await f.make_campaign(
        db, status=status, starts_at=NOW - dt.timedelta(days=30), ends_at=NOW + dt.timedelta(days=30)
    )


def event(campaign_id: int, type_: str = "IMPRESSION", **extra: Any) -> dict[str, Any]:
    return {"campaignId": campaign_gid(campaign_id), "type": type_, "occurredAt": AT.isoformat(), **extra}


async def rows(db: AsyncSession, model: type, campaign_id: int) -> list[Any]:
    """The campaign's rows of `model`, once the fold has counted what was recorded."""
    await fold_now(db)
    return list((await db.scalars(select(model).where(model.campaign_id == campaign_id))).all())


async def total_rows(db: AsyncSession) -> int:
    await fold_now(db)
    counts = [await db.scalar(select(func.count()).select_from(m)) for m in METRIC_TABLES]
    return sum(int(c or 0) for c in counts)


async def test_events_are_summed_per_day_segment_and_hour(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a running campaign and a batch from the app, one event of it on the previous day
    campaign = await live_campaign(db)
    yesterday = (AT - dt.timedelta(days=1)).isoformat()
    events = [
        event(campaign.id, segment="new_users"),
        event(campaign.id, segment="new_users"),
        event(campaign.id, "CLICK", segment="new_users"),
        event(campaign.id, "CONVERSION", revenue="12.50", segment="loyal"),
        event(campaign.id, "CONVERSION", revenue="7.25"),
        event(campaign.id, occurredAt=yesterday),
    ]

    # when the service records it
    result = await gql(RECORD, {"input": {"events": events}}, viewer=SERVICE)

    # then every event is counted once per table, by UTC day, segment and hour
    assert result.errors is None, result.errors
    assert result.data["recordCampaignEvents"] == {"accepted": 6, "rejected": 0, "userErrors": []}
    daily = {
        r.date: (r.impressions, r.clicks, r.conversions, r.revenue)
        for r in await rows(db, CampaignDailyMetrics, campaign.id)
    }
    assert daily == {
        AT.date(): (2, 1, 2, Decimal("19.75")),
        AT.date() - dt.timedelta(days=1): (1, 0, 0, Decimal("0")),
    }
    segments = {
        (r.segment_name, r.date): (r.impressions, r.clicks, r.conversions, r.revenue, r.users_count)
        for r in await rows(db, CampaignSegmentMetrics, campaign.id)
    }
    assert segments == {
        ("new_users", AT.date()): (2, 1, 0, Decimal("0"), 0),
        ("loyal", AT.date()): (0, 0, 1, Decimal("12.50"), 0),
    }
    hourly = {
        r.period: (r.impressions, r.clicks, r.conversions)
        for r in await rows(db, CampaignHourlyTrend, campaign.id)
    }
    assert hourly == {HOUR: (2, 1, 2), HOUR - dt.timedelta(days=1): (1, 0, 0)}


async def signed_in_customer(db: AsyncSession) -> Viewer:
    """A customer with an account row: the app's events are attributed to it."""
    return Viewer(role=Role.CUSTOMER, user_id=(await f.make_user(db, role="customer")).id)


async def test_a_second_batch_adds_to_the_existing_rows(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    await f.make_campaign_daily(
        db, campaign_id=campaign.id, date=AT.date(), impressions=10, spend=Decimal("5")
    )

    await gql(RECORD, {"input": {"events": [event(campaign.id)] * 3}}, viewer=await signed_in_customer(db))

    (day,) = await rows(db, CampaignDailyMetrics, campaign.id)
    await db.refresh(day)
    assert (day.impressions, day.spend) == (13, Decimal("5.00"))


async def test_the_customer_app_may_report_on_a_running_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    viewer = await signed_in_customer(db)
    result = await gql(RECORD, {"input": {"events": [event(campaign.id, "CLICK")]}}, viewer=viewer)
    assert result.data["recordCampaignEvents"]["accepted"] == 1


@pytest.mark.parametrize(
    ("status", "accepted"),
    [
        ("running", True),
        ("paused", True),
        ("completed", True),
        ("draft", False),
        ("scheduled", False),
        ("archived", False),
    ],
)
async def test_only_campaigns_that_were_shown_take_events(
    db: AsyncSession, gql, status: str, accepted: bool
) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db, status)
    if status == "draft":
        campaign.starts_at = campaign.ends_at = None
        await db.flush()

    result = await gql(RECORD, {"input": {"events": [event(campaign.id)]}}, viewer=SERVICE)

    payload = result.data["recordCampaignEvents"]
    assert payload["accepted"] == int(accepted)
    if not accepted:
        assert payload["userErrors"] == [
            {
                "field": "events.0.campaignId",
                "message": f"A {status} campaign takes no events.",
                "code": "INVALID",
            }
        ]
        assert await total_rows(db) == 0


BAD_EVENTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown campaign", {"campaignId": campaign_gid(f.MISSING_ID)}, "campaignId", "NOT_FOUND"),
    ("not a campaign id", {"campaignId": relay.to_base64("Merchant", 1)}, "campaignId", "NOT_FOUND"),
    ("too old", {"occurredAt": (NOW - dt.timedelta(days=8)).isoformat()}, "occurredAt", "OUT_OF_RANGE"),
    (
        "in the future",
        {"occurredAt": (NOW + dt.timedelta(hours=1)).isoformat()},
        "occurredAt",
        "OUT_OF_RANGE",
    ),
    ("long segment", {"segment": "s" * 101}, "segment", "TOO_LONG"),
    ("blank segment", {"segment": "  "}, "segment", "INVALID"),
    ("revenue of a click", {"type": "CLICK", "revenue": "1.00"}, "revenue", "INVALID"),
    ("negative revenue", {"type": "CONVERSION", "revenue": "-1"}, "revenue", "OUT_OF_RANGE"),
    ("huge revenue", {"type": "CONVERSION", "revenue": "1000000.01"}, "revenue", "OUT_OF_RANGE"),
    ("fractions of a cent", {"type": "CONVERSION", "revenue": "1.005"}, "revenue", "INVALID"),
]


@pytest.mark.parametrize(
    ("changes", "field", "code"), [b[1:] for b in BAD_EVENTS], ids=[b[0] for b in BAD_EVENTS]
)
async def test_an_invalid_event_is_reported_by_index_and_the_others_are_kept(
    db: AsyncSession, gql, changes: dict[str, Any], field: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    # given a batch whose middle event is invalid
    campaign = await live_campaign(db)
    events = [event(campaign.id), {**event(campaign.id), **changes}, event(campaign.id, "CLICK")]

    result = await gql(RECORD, {"input": {"events": events}}, viewer=SERVICE)

    # then that event is rejected, named by its index, and the two others are counted
    payload = result.data["recordCampaignEvents"]
    assert (payload["accepted"], payload["rejected"]) == (2, 1)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(f"events.1.{field}", code)]
    (day,) = await rows(db, CampaignDailyMetrics, campaign.id)
    assert (day.impressions, day.clicks, day.conversions) == (1, 1, 0)


async def test_a_naive_time_is_utc_and_a_conversion_may_have_no_revenue(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    naive = event(campaign.id, "CONVERSION", occurredAt=AT.replace(tzinfo=None).isoformat())

    result = await gql(RECORD, {"input": {"events": [naive]}}, viewer=SERVICE)

    assert result.data["recordCampaignEvents"]["accepted"] == 1
    (hour,) = await rows(db, CampaignHourlyTrend, campaign.id)
    assert (hour.period, hour.conversions, hour.revenue) == (HOUR, 1, Decimal("0"))


async def test_more_than_500_events_refuse_the_whole_call(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    result = await gql(RECORD, {"input": {"events": [event(campaign.id)] * 501}}, viewer=SERVICE)

    assert result.data == {"recordCampaignEvents": None}
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert await total_rows(db) == 0


async def test_a_retry_with_the_same_key_counts_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    events = [event(campaign.id), event(campaign.id, "CLICK"), event(f.MISSING_ID)]
    variables = {"input": {"events": events, "idempotencyKey": "batch-1"}}

    first = await gql(RECORD, variables, viewer=SERVICE)
    second = await gql(RECORD, variables, viewer=SERVICE)

    assert (
        first.data["recordCampaignEvents"]["accepted"],
        first.data["recordCampaignEvents"]["rejected"],
    ) == (2, 1)
    # the replay answers the counts; the per-event errors were given the first time
    assert second.data["recordCampaignEvents"] == {"accepted": 2, "rejected": 1, "userErrors": []}
    (day,) = await rows(db, CampaignDailyMetrics, campaign.id)
    assert (day.impressions, day.clicks) == (1, 1)


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.ADMIN, user_id=1),
        Viewer(role=Role.MARKETER, user_id=1),
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        ANONYMOUS,
    ],
    ids=["admin", "marketer", "analyst", "merchant", "anonymous"],
)
async def test_only_the_app_and_services_report_events(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)

    result = await gql(RECORD, {"input": {"events": [event(campaign.id)]}}, viewer=viewer)

    assert result.data == {"recordCampaignEvents": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await total_rows(db) == 0


@pytest.mark.parametrize("size", [10, 300])
async def test_a_batch_is_two_statements_whatever_its_size(db: AsyncSession, gql, size: int) -> None:  # type: ignore[no-untyped-def]
    # given events over two campaigns, days, segments and hours
    campaigns = [await live_campaign(db), await live_campaign(db)]
    events = [
        event(
            campaigns[i % 2].id,
            ("IMPRESSION", "CLICK")[i % 3 == 0],
            segment=f"s{i % 4}",
            occurredAt=(AT - dt.timedelta(hours=i % 30)).isoformat(),
        )
        for i in range(size)
    ]

    # when recorded, counting the statements (the savepoint of the test's session aside)
    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(RECORD, {"input": {"events": events}}, viewer=SERVICE)

    # then: the campaigns' statuses, then the events appended in one statement (the fold counts them)
    assert result.data["recordCampaignEvents"]["accepted"] == size
    assert len([s for s in statements if "SAVEPOINT" not in s]) == 2


@pytest.mark.parametrize("size", [10, 300])
async def test_a_customer_batch_is_six_statements_whatever_its_size(db: AsyncSession, gql, size: int) -> None:  # type: ignore[no-untyped-def]
    # given a customer's events with their own ids over two campaigns, days, two segments and hours
    campaigns = [await live_campaign(db), await live_campaign(db)]
    viewer = await signed_in_customer(db)
    events = [
        event(
            campaigns[i % 2].id,
            ("IMPRESSION", "CLICK")[i % 3 == 0],
            segment=("all_users", "bronze")[i % 2],
            occurredAt=(AT - dt.timedelta(hours=i % 30)).isoformat(),
            clientEventId=f"event-{i}",
        )
        for i in range(size)
    ]

    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(RECORD, {"input": {"events": events}}, viewer=viewer)

    # then: the customer (locked), the campaigns, the known ids, the day's counts, the receipts, and
    # the events appended in one statement
    assert result.data["recordCampaignEvents"]["accepted"] == size
    assert len([s for s in statements if "SAVEPOINT" not in s]) == 6
