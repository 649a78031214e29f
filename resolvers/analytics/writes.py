"""Campaign analytics ingestion: events from the mobile app folded into the metric tables.

A batch of events is the one documented exception to all-or-nothing: its events are independent,
so an invalid event is reported with its index and the valid ones are kept, in one transaction.

Concurrent batches lose no increment and never deadlock: every counter is written by
`INSERT ... ON CONFLICT DO UPDATE SET x = t.x + excluded.x` (atomic), the batch is first summed per
key (PostgreSQL refuses to touch one row twice in one statement), and every batch writes the three
tables in the same order and each table's keys in the same sorted order, so two batches never wait
for each other in opposite directions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from models.campaigns import Campaign, CampaignStatus
from resolvers.outcomes import Outcome, Problem, ProblemCode, Problems

MAX_EVENTS = 500
# Apps buffer events offline for a while; older ones would rewrite days already reported on.
MAX_AGE = dt.timedelta(days=7)
# Clock skew of a phone, not events from the future.
MAX_AHEAD = dt.timedelta(minutes=5)
# One conversion's revenue; 500 of them still fit a day's NUMERIC(14,2) sum many times over.
MAX_EVENT_REVENUE = Decimal("1000000.00")
SEGMENT_MAX = 100
CENT = Decimal("0.01")
# Events count for campaigns that were shown: running, paused (late events of what was shown) and
# completed (events buffered offline arrive after the end). Drafts and scheduled campaigns were never
# shown; archived ones are closed history.
ACCEPTING = frozenset({CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED})
NUMERIC_OUT_OF_RANGE = "22003"
Key = tuple[Any, ...]


class CampaignEventType(StrEnum):
    IMPRESSION = "impression"
    CLICK = "click"
    CONVERSION = "conversion"


@dataclass(frozen=True, slots=True)
class CampaignEvent:
    """One event; `campaign_id` is None when the id given was not a campaign's."""

    campaign_id: int | None
    type: CampaignEventType
    occurred_at: dt.datetime
    segment: str | None = None
    revenue: Decimal | None = None


@dataclass(slots=True)
class IngestResult:
    accepted: int
    rejected: int
    # Per rejected event, with its index in the field: "events.3.campaign_id".
    problems: list[Problem] = field(default_factory=list)


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


def utc(moment: dt.datetime) -> dt.datetime:
    """The moment in UTC; a time without offset is taken as UTC (the API's convention)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def check_event(index: int, event: CampaignEvent, *, now: dt.datetime, problems: Problems) -> None:
    """Add the problems of one event that need no database (time window, segment, revenue)."""
    at = f"events.{index}."
    occurred = utc(event.occurred_at)
    if occurred < now - MAX_AGE or occurred > now + MAX_AHEAD:
        problems.add(
            at + "occurred_at",
            f"Must be within the last {MAX_AGE.days} days and at most "
            f"{int(MAX_AHEAD.total_seconds() // 60)} minutes ahead.",
            ProblemCode.OUT_OF_RANGE,
        )
    if event.segment is not None:
        if not event.segment.strip():
            problems.add(at + "segment", "Omit the segment rather than sending a blank one.")
        else:
            problems.require_length(at + "segment", event.segment, max_length=SEGMENT_MAX)
    revenue = event.revenue
    if revenue is None:
        return
    if event.type is not CampaignEventType.CONVERSION:
        problems.add(at + "revenue", "Only a CONVERSION has revenue.")
    elif not revenue.is_finite() or revenue != revenue.quantize(CENT):
        problems.add(at + "revenue", "An amount with at most 2 decimals.")
    else:
        problems.require_range(at + "revenue", revenue, low=Decimal(0), high=MAX_EVENT_REVENUE)


async def _statuses(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    # FOR KEY SHARE, in id order: the status cannot change (archiving takes FOR UPDATE) until this
    # batch commits, while other batches share the lock and are not held up.
    rows = await session.execute(
        select(Campaign.id, Campaign.status)
        .where(Campaign.id == any_(bindparam("ids", sorted(ids), type_=ARRAY(BigInteger))))
        .order_by(Campaign.id)
        .with_for_update(read=True, key_share=True)
    )
    return {campaign_id: status for campaign_id, status in rows}


def _campaign_problem(index: int, event: CampaignEvent, statuses: dict[int, str]) -> Problem | None:
    field_name = f"events.{index}.campaign_id"
    status = statuses.get(event.campaign_id) if event.campaign_id is not None else None
    if status is None:
        return Problem(field_name, "No such campaign.", ProblemCode.NOT_FOUND)
    if CampaignStatus(status) not in ACCEPTING:
        return Problem(field_name, f"A {status} campaign takes no events.", ProblemCode.INVALID)
    return None


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


async def _write(session: AsyncSession, events: list[CampaignEvent]) -> None:
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
    for statement, sums, names in (
        (UPSERT_HOURLY, hourly, ("campaign_id", "key")),
        (UPSERT_SEGMENTS, segments, ("campaign_id", "segment", "key")),
        (UPSERT_DAILY, daily, ("campaign_id", "key")),
    ):
        if sums:
            await session.execute(statement, _columns(sums, names))


async def record_campaign_events(
    *, session: AsyncSession, events: list[CampaignEvent], now: dt.datetime
) -> Outcome[IngestResult]:
    """Fold the valid events into the daily, segment and hourly metrics; report the others by index."""
    ids = {e.campaign_id for e in events if e.campaign_id is not None}
    statuses = await _statuses(session, ids) if ids else {}
    problems: list[Problem] = []
    kept: list[CampaignEvent] = []
    for index, event in enumerate(events):
        found = Problems()
        check_event(index, event, now=now, problems=found)
        campaign_problem = _campaign_problem(index, event, statuses)
        if campaign_problem is not None:
            found.items.insert(0, campaign_problem)
        if found:
            problems.extend(found.items)
        else:
            kept.append(event)
    if kept:
        try:
            await _write(session, kept)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != NUMERIC_OUT_OF_RANGE:
                raise
            return Outcome.one_problem(
                "events", "The revenue totals would overflow; nothing was recorded.", ProblemCode.OUT_OF_RANGE
            )
    result = IngestResult(accepted=len(kept), rejected=len(events) - len(kept), problems=problems)
    return Outcome(value=result, ref=batch_ref(result))


# A replay by idempotency key rebuilds the counts from the stored reference (id = accepted * base +
# rejected); the per-event errors of the first execution are not repeated.
BATCH_REF_TYPE = "CampaignEventBatch"
_REF_BASE = 1000  # more than MAX_EVENTS


def batch_ref(result: IngestResult) -> tuple[str, int]:
    return BATCH_REF_TYPE, result.accepted * _REF_BASE + result.rejected


async def stored_batch(context: RequestContext, ref: dict[str, Any]) -> IngestResult:
    """A replayed batch's counts, rebuilt from its stored reference alone (nothing to read)."""
    accepted, rejected = divmod(int(ref["id"]), _REF_BASE)
    return IngestResult(accepted=accepted, rejected=rejected)
