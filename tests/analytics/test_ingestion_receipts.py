"""Receipts of recordCampaignEvents: a customer's device reports a bounded number of events per campaign
and UTC day; a retry carrying the same client event ids counts once, per reporter; old receipts go."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from models.analytics import CampaignDailyMetrics, CampaignEventReceipt
from resolvers.analytics import writes as ingestion
from tests.analytics.support import SERVICE
from tests.analytics.test_ingestion import AT, event, live_campaign, rows
from tests.analytics.test_ingestion_trust import RECORD_COUNTING_DUPLICATES, customer, daily, record


async def test_a_customer_reports_a_bounded_number_of_events_per_campaign_and_day(
    db: AsyncSession, gql, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    # given a customer who has already sent most of the day's events for a campaign
    bound = settings.analytics_user_events_per_campaign_day
    campaign, other = await live_campaign(db), await live_campaign(db)
    _, viewer = await customer(db)
    first = await record(gql, viewer, [event(campaign.id)] * (bound - 2))
    yesterday = event(campaign.id, occurredAt=(AT - dt.timedelta(days=1)).isoformat())

    # when the next batch goes past the bound, with events of another campaign and another day
    payload = await record(gql, viewer, [event(campaign.id, "CLICK")] * 5 + [event(other.id), yesterday])

    # then the campaign-day takes events up to the bound; the others have bounds of their own
    assert first["accepted"] == bound - 2
    assert (payload["accepted"], payload["rejected"]) == (4, 3)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (f"events.{i}", "OUT_OF_RANGE") for i in (2, 3, 4)
    ]
    assert await daily(db, other.id) == (1, 0, 0, Decimal("0"))
    days = {r.date: (r.impressions, r.clicks) for r in await rows(db, CampaignDailyMetrics, campaign.id)}
    assert days == {AT.date(): (bound - 2, 2), AT.date() - dt.timedelta(days=1): (1, 0)}


async def test_another_customer_has_a_bound_of_their_own(db: AsyncSession, gql, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    bound = settings.analytics_user_events_per_campaign_day
    campaign = await live_campaign(db)
    (_, ann), (_, bob) = await customer(db), await customer(db)

    assert (await record(gql, ann, [event(campaign.id)] * (bound + 1)))["accepted"] == bound
    assert (await record(gql, bob, [event(campaign.id)] * 3))["accepted"] == 3


async def test_a_retry_with_the_same_client_event_ids_counts_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a batch whose events carry the app's own ids (one id twice)
    campaign = await live_campaign(db)
    _, viewer = await customer(db)
    batch = [
        event(campaign.id, clientEventId="e-1"),
        event(campaign.id, "CLICK", clientEventId="e-2"),
        event(campaign.id, clientEventId="e-1"),
        event(campaign.id),
    ]

    # when it is sent, then sent again (no idempotency key: a plain retry), then with one new event
    first = await record(gql, viewer, batch, RECORD_COUNTING_DUPLICATES)
    again = await record(gql, viewer, batch[:3], RECORD_COUNTING_DUPLICATES)
    more = await record(
        gql, viewer, [*batch[:2], event(campaign.id, clientEventId="e-3")], RECORD_COUNTING_DUPLICATES
    )

    # then each id counts once; a repeated id is a duplicate, not an error
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (3, 1, 0)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 0)
    assert (more["accepted"], more["duplicates"], more["rejected"]) == (1, 2, 0)
    assert await daily(db, campaign.id) == (3, 1, 0, Decimal("0"))


async def test_client_event_ids_are_per_reporter(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    (_, ann), (_, bob) = await customer(db), await customer(db)
    same_id = [event(campaign.id, clientEventId="shared-id")]

    counts = [
        (await record(gql, viewer, same_id))["accepted"]
        for viewer in (ann, bob, SERVICE, Viewer(role=Role.SERVICE, api_key_id=7), ann)
    ]

    assert counts == [1, 1, 1, 1, 0]


async def test_a_service_retry_with_the_same_client_event_ids_counts_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    batch = [event(campaign.id, "CONVERSION", revenue="10.00", clientEventId=f"c-{i}") for i in range(3)]

    first = await record(gql, SERVICE, batch, RECORD_COUNTING_DUPLICATES)
    again = await record(gql, SERVICE, batch, RECORD_COUNTING_DUPLICATES)

    assert (first["accepted"], again["accepted"], again["duplicates"]) == (3, 0, 3)
    assert await daily(db, campaign.id) == (0, 0, 3, Decimal("30.00"))


@pytest.mark.parametrize(
    ("client_event_id", "code"),
    # A NUL never gets this far: the input boundary refuses the request (tests/schema/test_input_boundary.py).
    [("x" * 65, "TOO_LONG"), ("  ", "INVALID")],
    ids=["long", "blank"],
)
async def test_a_bad_client_event_id_is_refused_with_its_event_alone(
    db: AsyncSession, gql, client_event_id: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    campaign = await live_campaign(db)
    _, viewer = await customer(db)

    payload = await record(
        gql, viewer, [event(campaign.id, clientEventId=client_event_id), event(campaign.id)]
    )

    assert (payload["accepted"], payload["rejected"]) == (1, 1)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("events.0.clientEventId", code)]


async def test_receipts_are_kept_while_their_day_takes_events(db: AsyncSession) -> None:
    # given receipts of the oldest day still accepting events, and of the day before it
    now = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
    campaign = await live_campaign(db)
    oldest = (now - ingestion.MAX_AGE).date()
    for day in (oldest, oldest - dt.timedelta(days=1)):
        db.add(
            CampaignEventReceipt(
                reporter="service", client_event_id=str(day), campaign_id=campaign.id, date=day
            )
        )
    await db.flush()

    # when pruned, then only the day no event can reach any more goes
    assert await ingestion.prune_receipts(db, now=now) == 1
    assert list(await db.scalars(select(CampaignEventReceipt.date))) == [oldest]
