"""Accepted campaign events folded into the daily, segment and hourly metric rows: three statements.

Concurrent batches lose no increment and never deadlock: every counter is written by
`INSERT ... ON CONFLICT DO UPDATE SET x = t.x + excluded.x` (atomic), the batch is first summed per
key (PostgreSQL refuses to touch one row twice in one statement), and every batch writes the three
tables in the same order and each table's keys in the same sorted order, so two batches never wait
for each other in opposite directions. The sums cannot overflow (see `revenue_sum` in
models/analytics.py), so no batch is ever refused here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from resolvers.analytics.events import CampaignEvent, CampaignEventType, utc

Key = tuple[Any, ...]


@dataclass(slots=True)
class _Sums:
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)

    def add(self, event: CampaignEvent) -> None:
        if event.type is CampaignEventType.IMPRESSION:
            self.impressions += 1
        elif event.type is CampaignEventType.CLICK:
            self.clicks += 1
        else:
            self.conversions += 1
            self.revenue += event.revenue or 0


_COLUMNS = "impressions, clicks, conversions, revenue"
_INCREMENTS = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in _COLUMNS.split(", "))
_SUM_ARRAYS = (
    "CAST(:impressions AS bigint[]), CAST(:clicks AS bigint[]), CAST(:conversions AS bigint[]), "
    "CAST(:revenue AS numeric[])"
)
# ORDER BY the conflict key: rows are inserted, and their index entries locked, in this order.
UPSERT_DAILY = text(f"""
INSERT INTO campaign_analytics_daily AS t (campaign_id, date, {_COLUMNS})
SELECT * FROM unnest(CAST(:campaign_id AS bigint[]), CAST(:key AS date[]), {_SUM_ARRAYS})
ORDER BY 1, 2
ON CONFLICT (campaign_id, date) DO UPDATE SET {_INCREMENTS}
""")
UPSERT_SEGMENTS = text(f"""
INSERT INTO campaign_analytics_segments AS t (campaign_id, segment_name, date, {_COLUMNS})
SELECT * FROM unnest(CAST(:campaign_id AS bigint[]), CAST(:segment AS text[]), CAST(:key AS date[]),
                     {_SUM_ARRAYS})
ORDER BY 1, 2, 3
ON CONFLICT (campaign_id, segment_name, date) DO UPDATE SET {_INCREMENTS}
""")
UPSERT_HOURLY = text(f"""
INSERT INTO campaign_trend_data AS t (campaign_id, period, {_COLUMNS})
SELECT * FROM unnest(CAST(:campaign_id AS bigint[]), CAST(:key AS timestamptz[]), {_SUM_ARRAYS})
ORDER BY 1, 2
ON CONFLICT (campaign_id, period) DO UPDATE SET {_INCREMENTS}
""")


def _columns(sums: dict[Key, _Sums], names: tuple[str, ...]) -> dict[str, list[Any]]:
    """The sums as one array per column, keys sorted (the statement sorts again, to be sure)."""
    keys = sorted(sums)
    columns = {name: [key[i] for key in keys] for i, name in enumerate(names)}
    for counter in ("impressions", "clicks", "conversions", "revenue"):
        columns[counter] = [getattr(sums[key], counter) for key in keys]
    return columns


async def fold_into_metrics(session: AsyncSession, events: list[CampaignEvent]) -> None:
    """Add the events to their campaigns' daily, segment and hourly rows."""
    daily: dict[Key, _Sums] = defaultdict(_Sums)
    segments: dict[Key, _Sums] = defaultdict(_Sums)
    hourly: dict[Key, _Sums] = defaultdict(_Sums)
    for event in events:
        occurred = utc(event.occurred_at)
        daily[(event.campaign_id, occurred.date())].add(event)
        hourly[(event.campaign_id, occurred.replace(minute=0, second=0, microsecond=0))].add(event)
        if event.segment is not None:
            segments[(event.campaign_id, event.segment, occurred.date())].add(event)
    # Always the same table order, the most contended last: every batch touches the few daily rows
    # of its campaigns, so it holds their locks only from that statement to the commit.
    for statement, table, sums, names in (
        (UPSERT_HOURLY, "campaign_trend_data", hourly, ("campaign_id", "key")),
        (UPSERT_SEGMENTS, "campaign_analytics_segments", segments, ("campaign_id", "segment", "key")),
        (UPSERT_DAILY, "campaign_analytics_daily", daily, ("campaign_id", "key")),
    ):
        if sums:
            await session.execute(statement, _columns(sums, names))
            # Text statements are invisible to the change tracker: live metrics watch these keys.
            wrote_keys(session, table, "campaign_id", {key[0] for key in sums})
