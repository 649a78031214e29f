"""Parallel ingestion on a real pool: 50 batches at once lose no increment and never deadlock; one
customer's parallel batches stop exactly at the bound; parallel retries of a batch count it once."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.analytics import CampaignDailyMetrics, CampaignHourlyTrend, CampaignSegmentMetrics
from models.campaigns import Campaign
from models.users import User
from tests.analytics.support import SERVICE, campaign_gid
from tests.support import fold_committed

RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted rejected userErrors { field code } }
}
"""
SPEND = """
mutation ($input: RecordCampaignSpendInput!) {
  recordCampaignSpend(input: $input) { metrics { spend } userErrors { code } }
}
"""
BATCHES, EVENTS_PER_BATCH = 50, 20
SEGMENTS = ("new_users", "loyal")
TYPES = ("IMPRESSION", "IMPRESSION", "CLICK", "CONVERSION")


async def _campaigns(live: Any, count: int) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    async with live.sessionmaker() as session, session.begin():
        rows = [
            Campaign(
                name=f"Parallel {i}",
                type="email_offer",
                status="running",
                starts_at=now - dt.timedelta(days=30),
                ends_at=now + dt.timedelta(days=30),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [c.id for c in rows]


def _batches(campaign_ids: list[int], seed: int) -> list[list[dict[str, Any]]]:
    """Events over 3 campaigns, 2 days, 3 hours a day and 2 segments, each batch in shuffled order."""
    rng = random.Random(seed)
    base = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    moments = [
        base - dt.timedelta(days=d, hours=h) + dt.timedelta(minutes=7) for d in (0, 1) for h in (0, 1, 2)
    ]
    batches = []
    for _ in range(BATCHES):
        batch = []
        for _ in range(EVENTS_PER_BATCH):
            kind = rng.choice(TYPES)
            item: dict[str, Any] = {
                "campaignId": campaign_gid(rng.choice(campaign_ids)),
                "type": kind,
                "occurredAt": rng.choice(moments).isoformat(),
                "segment": rng.choice(SEGMENTS),
            }
            if kind == "CONVERSION":
                item["revenue"] = f"{rng.randint(1, 5000) / 100:.2f}"
            batch.append(item)
        rng.shuffle(batch)
        batches.append(batch)
    return batches


def _expected(batches: list[list[dict[str, Any]]], ids: dict[str, int]) -> dict[str, Counter[Any]]:
    """What the three tables must hold: the sums over every event sent, computed here."""
    sums: dict[str, Counter[Any]] = {"daily": Counter(), "segments": Counter(), "hourly": Counter()}
    for batch in batches:
        for e in batch:
            at = dt.datetime.fromisoformat(e["occurredAt"])
            campaign, kind = ids[e["campaignId"]], e["type"].lower() + "s"
            keys = {
                "daily": (campaign, at.date()),
                "segments": (campaign, e["segment"], at.date()),
                "hourly": (campaign, at.replace(minute=0)),
            }
            for table, key in keys.items():
                sums[table][(*key, kind)] += 1
                sums[table][(*key, "revenue")] += Decimal(e.get("revenue", "0"))
    return {table: +counter for table, counter in sums.items()}


async def _stored(live: Any) -> dict[str, Counter[Any]]:
    stored: dict[str, Counter[Any]] = {"daily": Counter(), "segments": Counter(), "hourly": Counter()}
    await fold_committed(live.sessionmaker)
    async with live.sessionmaker() as session:
        for table, model, key in (
            ("daily", CampaignDailyMetrics, ("campaign_id", "date")),
            ("segments", CampaignSegmentMetrics, ("campaign_id", "segment_name", "date")),
            ("hourly", CampaignHourlyTrend, ("campaign_id", "period")),
        ):
            for row in await session.scalars(select(model)):
                for column in ("impressions", "clicks", "conversions", "revenue"):
                    stored[table][(*(getattr(row, k) for k in key), column)] += getattr(row, column)
    return {table: +counter for table, counter in stored.items()}


async def test_fifty_parallel_batches_lose_no_increment(live) -> None:  # type: ignore[no-untyped-def]
    # given three running campaigns and 50 batches of 20 events over them
    campaign_ids = await _campaigns(live, 3)
    batches = _batches(campaign_ids, seed=7)

    # when the 50 batches arrive at once, each on its own connection
    results = await asyncio.gather(
        *(live.execute(RECORD, {"input": {"events": batch}}, viewer=SERVICE) for batch in batches)
    )

    # then none failed (a deadlock would be an error) and every event was accepted
    assert [r.errors for r in results if r.errors] == []
    assert {
        (r.data["recordCampaignEvents"]["accepted"], r.data["recordCampaignEvents"]["rejected"])
        for r in results
    } == {(EVENTS_PER_BATCH, 0)}
    # and every daily, segment and hourly count is the sum of what was sent
    ids = {campaign_gid(c): c for c in campaign_ids}
    assert await _stored(live) == _expected(batches, ids)


async def test_parallel_spend_additions_all_count(live) -> None:  # type: ignore[no-untyped-def]
    (campaign_id,) = await _campaigns(live, 1)
    day = dt.datetime.now(dt.UTC).date().isoformat()
    variables = {
        "input": {"campaignId": campaign_gid(campaign_id), "date": day, "amount": "1.25", "mode": "ADD"}
    }

    results = await asyncio.gather(*(live.execute(SPEND, variables, viewer=SERVICE) for _ in range(20)))

    assert [r.errors for r in results if r.errors] == []
    async with live.sessionmaker() as session:
        spend = await session.scalar(select(CampaignDailyMetrics.spend))
        audits = await session.scalar(select(func.count()).select_from(AuditLogEntry))
    assert (spend, audits) == (Decimal("25.00"), 20)


async def _customer(live: Any) -> int:
    async with live.sessionmaker() as session, session.begin():
        user = User(email=f"parallel-{dt.datetime.now(dt.UTC).timestamp()}@example.com", role="customer")
        session.add(user)
        await session.flush()
        return user.id


async def test_parallel_batches_of_one_customer_stop_exactly_at_the_bound(live, settings) -> None:  # type: ignore[no-untyped-def]
    # given one customer and a running campaign
    (campaign_id,) = await _campaigns(live, 1)
    viewer = Viewer(role=Role.CUSTOMER, user_id=await _customer(live))
    bound = settings.analytics_user_events_per_campaign_day
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    batch = [{"campaignId": campaign_gid(campaign_id), "type": "IMPRESSION", "occurredAt": at}] * 30

    # when twice the bound arrives at once, in 30-event batches on their own connections
    results = await asyncio.gather(
        *(live.execute(RECORD, {"input": {"events": batch}}, viewer=viewer) for _ in range(2 * bound // 30))
    )

    # then exactly the bound was counted: the customer's batches ran one after the other
    assert [r.errors for r in results if r.errors] == []
    assert sum(r.data["recordCampaignEvents"]["accepted"] for r in results) == bound
    await fold_committed(live.sessionmaker)
    async with live.sessionmaker() as session:
        assert await session.scalar(select(CampaignDailyMetrics.impressions)) == bound


async def test_parallel_retries_of_a_service_batch_count_it_once(live) -> None:  # type: ignore[no-untyped-def]
    (campaign_id,) = await _campaigns(live, 1)
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    batch = [
        {
            "campaignId": campaign_gid(campaign_id),
            "type": "CLICK",
            "occurredAt": at,
            "clientEventId": f"id-{i}",
        }
        for i in range(40)
    ]

    # the same batch ten times at once, each copy in another order
    copies = [random.Random(n).sample(batch, len(batch)) for n in range(10)]
    results = await asyncio.gather(
        *(live.execute(RECORD, {"input": {"events": copy}}, viewer=SERVICE) for copy in copies)
    )

    assert [r.errors for r in results if r.errors] == []
    assert sum(r.data["recordCampaignEvents"]["accepted"] for r in results) == len(batch)
    await fold_committed(live.sessionmaker)
    async with live.sessionmaker() as session:
        assert await session.scalar(select(CampaignDailyMetrics.clicks)) == len(batch)
