"""The fold counts every appended event exactly once: concurrent folders never share a row, a fold
that dies or rolls back leaves its claim pending, a batch that commits late is still counted, and the
events of a deleted campaign are dropped with it. Real PostgreSQL, committed data, one connection per
folder."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from models.analytics import (
    CampaignDailyMetrics,
    CampaignEventLog,
    CampaignHourlyTrend,
    CampaignSegmentMetrics,
    PendingCampaignEvent,
)
from models.campaigns import Campaign
from resolvers.analytics.event_log import append_events, fold_pending
from resolvers.analytics.events import CampaignEvent, CampaignEventType
from tests.analytics.test_ingestion_concurrency import _campaigns
from tests.support import fold_committed

NOW = dt.datetime.now(dt.UTC)
KINDS = [CampaignEventType.IMPRESSION] * 6 + [CampaignEventType.CLICK] * 3 + [CampaignEventType.CONVERSION]


def _events(campaign_ids: list[int], count: int, seed: int) -> list[CampaignEvent]:
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        kind = rng.choice(KINDS)
        events.append(
            CampaignEvent(
                campaign_id=rng.choice(campaign_ids),
                type=kind,
                occurred_at=NOW - dt.timedelta(minutes=rng.randint(1, 36 * 60)),
                segment=rng.choice(["loyal", "students", None]),
                revenue=Decimal(rng.randint(1, 9999)) / 100 if kind is CampaignEventType.CONVERSION else None,
            )
        )
    return events


def _expected(events: list[CampaignEvent]) -> dict[str, Counter[Any]]:
    sums: dict[str, Counter[Any]] = {"daily": Counter(), "segments": Counter(), "hourly": Counter()}
    for e in events:
        at = e.occurred_at.astimezone(dt.UTC)
        keys = {
            "daily": (e.campaign_id, at.date()),
            "hourly": (e.campaign_id, at.replace(minute=0, second=0, microsecond=0)),
        }
        if e.segment is not None:
            keys["segments"] = (e.campaign_id, e.segment, at.date())
        for table, key in keys.items():
            sums[table][(*key, f"{e.type}s")] += 1
            sums[table][(*key, "revenue")] += e.revenue or Decimal(0)
    return {table: +counter for table, counter in sums.items()}


async def _stored(live: Any) -> dict[str, Counter[Any]]:
    stored: dict[str, Counter[Any]] = {"daily": Counter(), "segments": Counter(), "hourly": Counter()}
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


async def _append(live: Any, events: list[CampaignEvent]) -> None:
    async with live.sessionmaker() as session, session.begin():
        await append_events(session, events)


async def _count(live: Any, model: type) -> int:
    async with live.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _folder(live: Any, limit: int) -> int:
    """One folder on its own connection, folding until a claim comes back empty."""
    claimed = 0
    while True:
        async with live.sessionmaker() as session, session.begin():
            round_ = await fold_pending(session, limit=limit)
        if not round_.claimed:
            return claimed
        claimed += round_.claimed


async def test_concurrent_folders_count_every_event_once(live) -> None:  # type: ignore[no-untyped-def]
    # given 6,000 pending events over three campaigns, two days, hours and segments
    events = _events(await _campaigns(live, 3), 6000, seed=1)
    for start in range(0, len(events), 500):
        await _append(live, events[start : start + 500])

    # when four folders work on them at once, in small claims
    claimed = await asyncio.gather(*(_folder(live, 250) for _ in range(4)))

    # then every event was claimed once, logged once and counted once
    assert sum(claimed) == len(events)
    assert await _count(live, PendingCampaignEvent) == 0
    assert await _count(live, CampaignEventLog) == len(events)
    assert await _stored(live) == _expected(events)


async def test_a_folder_killed_holding_its_claim_loses_and_doubles_nothing(live) -> None:  # type: ignore[no-untyped-def]
    events = _events(await _campaigns(live, 2), 400, seed=2)
    await _append(live, events)

    # given a fold that claimed and counted everything in its transaction, and has not committed
    doomed = live.sessionmaker()
    await doomed.begin()
    held = await fold_pending(doomed, limit=10_000)
    assert held.claimed == len(events)
    pid = await doomed.scalar(text("SELECT pg_backend_pid()"))

    # while it holds the claim, another folder skips those rows rather than counting them too
    assert await _folder(live, 1000) == 0

    # when its backend dies (the worker's connection gone mid-fold)
    async with live.sessionmaker() as session:
        assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await doomed.invalidate()

    # then nothing it did stayed, and the next fold counts every event once
    assert await _stored(live) == {"daily": Counter(), "segments": Counter(), "hourly": Counter()}
    assert await _folder(live, 1000) == len(events)
    assert await _stored(live) == _expected(events)


async def test_a_fold_rolled_back_leaves_its_events_pending(live) -> None:  # type: ignore[no-untyped-def]
    events = _events(await _campaigns(live, 1), 50, seed=3)
    await _append(live, events)

    async with live.sessionmaker() as session, session.begin():
        assert (await fold_pending(session, limit=100)).claimed == len(events)
        await session.rollback()

    assert await _count(live, PendingCampaignEvent) == len(events)
    assert await _count(live, CampaignEventLog) == 0
    assert await fold_committed(live.sessionmaker) == len(events)
    assert await _stored(live) == _expected(events)


async def test_a_batch_committed_after_a_later_one_is_still_counted(live) -> None:  # type: ignore[no-untyped-def]
    campaign_ids = await _campaigns(live, 1)
    early, late = _events(campaign_ids, 30, seed=4), _events(campaign_ids, 20, seed=5)

    # given a batch that took its ids first but commits last
    slow = live.sessionmaker()
    await slow.begin()
    await append_events(slow, early)
    await _append(live, late)

    # when a fold runs between the two commits, and another after the second
    assert await fold_committed(live.sessionmaker) == len(late)
    await slow.commit()
    await slow.close()
    assert await fold_committed(live.sessionmaker) == len(early)

    # then both batches are counted, once
    assert await _stored(live) == _expected(early + late)


async def test_events_of_a_campaign_deleted_before_the_fold_are_dropped(live) -> None:  # type: ignore[no-untyped-def]
    kept_id, gone_id = await _campaigns(live, 2)
    kept, gone = _events([kept_id], 10, seed=6), _events([gone_id], 10, seed=7)
    await _append(live, kept + gone)
    async with live.sessionmaker() as session, session.begin():
        await session.delete(await session.get(Campaign, gone_id))

    assert await fold_committed(live.sessionmaker) == len(kept)
    assert await _count(live, PendingCampaignEvent) == 0
    assert await _stored(live) == _expected(kept)
