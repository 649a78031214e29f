"""Accepted events appended, and folded into the daily, segment and hourly counters exactly once.

`recordCampaignEvents` appends its batch to `campaign_events_pending` (one multi-row INSERT of new
rows: no batch waits for another's lock) and is answered once that commits. The fold (jobs/ingest.py,
a loop in every job worker) counts them later, in ONE statement and so one transaction:

- it claims the oldest pending rows no other fold holds (`FOR UPDATE SKIP LOCKED`) and deletes them,
- appends them to the day-partitioned log `campaign_events`,
- and adds their sums to the counters (`INSERT ... ON CONFLICT DO UPDATE`, keys sorted, the tables
  in one order, as every fold does: two folds never wait for each other in opposite directions).

Exactly once follows from the one transaction: a crash or a rollback anywhere leaves the rows pending
and the counters untouched; a commit removes exactly the rows it counted, and a row can be claimed
by one fold only. A row committed late (its batch's transaction began before a later one's) is simply
pending until a fold sees it: nothing skips past it the way an id watermark would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from resolvers.analytics.events import CampaignEvent, utc

COUNTER_TABLES = ("campaign_trend_data", "campaign_analytics_segments", "campaign_analytics_daily")

APPEND = text("""
INSERT INTO campaign_events_pending (campaign_id, type, occurred_at, segment, revenue)
SELECT * FROM unnest(CAST(:campaign_id AS bigint[]), CAST(:type AS text[]),
                     CAST(:occurred_at AS timestamptz[]), CAST(:segment AS text[]),
                     CAST(:revenue AS numeric[]))
""")

_SUMS = """count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
  count(*) FILTER (WHERE type = 'conversion'), coalesce(sum(revenue), 0)"""
_COLUMNS = "impressions, clicks, conversions, revenue"
_INCREMENTS = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in _COLUMNS.split(", "))

# The claim is a plain subquery: PostgreSQL locks (or skips) each row as the DELETE reaches it.
# Events of a campaign deleted meanwhile are dropped with their claim (its counters are gone too).
FOLD = text(f"""
WITH claimed AS (
  DELETE FROM campaign_events_pending
  WHERE id IN (SELECT id FROM campaign_events_pending ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
  RETURNING *
), kept AS (
  SELECT claimed.*, (occurred_at AT TIME ZONE 'UTC')::date AS day,
         date_trunc('hour', occurred_at, 'UTC') AS hour
  FROM claimed WHERE EXISTS (SELECT FROM campaigns c WHERE c.id = claimed.campaign_id)
), logged AS (
  INSERT INTO campaign_events (event_id, day, campaign_id, type, occurred_at, segment, revenue, received_at)
  SELECT id, day, campaign_id, type, occurred_at, segment, revenue, received_at FROM kept
), hourly AS (
  INSERT INTO campaign_trend_data AS t (campaign_id, period, {_COLUMNS})
  SELECT campaign_id, hour, {_SUMS} FROM kept GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (campaign_id, period) DO UPDATE SET {_INCREMENTS}
), segments AS (
  INSERT INTO campaign_analytics_segments AS t (campaign_id, segment_name, date, {_COLUMNS})
  SELECT campaign_id, segment, day, {_SUMS} FROM kept WHERE segment IS NOT NULL
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (campaign_id, segment_name, date) DO UPDATE SET {_INCREMENTS}
), daily AS (
  INSERT INTO campaign_analytics_daily AS t (campaign_id, date, {_COLUMNS})
  SELECT campaign_id, day, {_SUMS} FROM kept GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (campaign_id, date) DO UPDATE SET {_INCREMENTS}
)
SELECT (SELECT count(*) FROM claimed) AS claimed, count(*) AS folded,
       coalesce(array_agg(DISTINCT campaign_id), '{{}}') AS campaigns
FROM kept
""")


@dataclass(frozen=True, slots=True)
class Folded:
    claimed: int
    # Claimed minus the events of campaigns deleted before they were counted.
    folded: int
    campaign_ids: frozenset[int]


async def append_events(session: AsyncSession, events: list[CampaignEvent]) -> None:
    """Append accepted events to the pending table, to be counted by the fold."""
    columns: dict[str, list[Any]] = {
        "campaign_id": [e.campaign_id for e in events],
        "type": [str(e.type) for e in events],
        "occurred_at": [utc(e.occurred_at) for e in events],
        "segment": [e.segment for e in events],
        "revenue": [e.revenue for e in events],
    }
    await session.execute(APPEND, columns)


async def fold_pending(session: AsyncSession, *, limit: int) -> Folded:
    """Claim up to `limit` pending events and count them, in the caller's transaction."""
    row = (await session.execute(FOLD, {"limit": limit})).one()
    ids = frozenset(int(i) for i in row.campaigns)
    if ids:
        # Text statements are invisible to the change tracker: caches and live metrics watch these keys.
        for table in COUNTER_TABLES:
            wrote_keys(session, table, "campaign_id", ids)
    return Folded(claimed=int(row.claimed), folded=int(row.folded), campaign_ids=ids)
