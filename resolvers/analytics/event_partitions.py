"""The day partitions of the event log (`campaign_events`): created ahead, dropped past retention.

One partition per UTC day an event happened, named `campaign_events_YYYYMMDD`. The prune job
(jobs/maintenance.py) creates every day an event may still be accepted for (MAX_AGE back) and
INGEST_PARTITIONS_AHEAD_DAYS ahead, and drops the partitions older than
ANALYTICS_EVENT_RETENTION_DAYS whole: no row-by-row DELETE, no bloat. The migration created the first
ones. Should no prune have run for that many days, the default partition takes the events (nothing is
refused); a day with rows there keeps living in it (PostgreSQL cannot create a partition over rows
its default holds), and they are deleted with their day's retention.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.analytics.writes import MAX_AGE

log = logging.getLogger("swipesavvy.analytics")

LOG_TABLE = "campaign_events"
DEFAULT_PARTITION = f"{LOG_TABLE}_default"
PREFIX = f"{LOG_TABLE}_"

_PARTITIONS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = CAST(:parent AS regclass)"
)


def partition_name(day: dt.date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def _day_of(name: str) -> dt.date | None:
    suffix = name.removeprefix(PREFIX)
    if len(suffix) != 8 or not suffix.isdigit():
        return None
    return dt.datetime.strptime(suffix, "%Y%m%d").date()


async def partition_days(session: AsyncSession) -> set[dt.date]:
    """The days that have a partition of their own."""
    names = (await session.scalars(_PARTITIONS, {"parent": LOG_TABLE})).all()
    return {day for day in map(_day_of, names) if day is not None}


async def create_ahead(session: AsyncSession, *, today: dt.date, ahead_days: int) -> list[dt.date]:
    """Create the missing partitions from MAX_AGE before `today` to `ahead_days` after it."""
    have = await partition_days(session)
    first = today - dt.timedelta(days=MAX_AGE.days)
    wanted = [first + dt.timedelta(days=n) for n in range((today - first).days + ahead_days + 1)]
    missing = [day for day in wanted if day not in have]
    if not missing:
        return []
    in_default = set(
        (
            await session.scalars(
                text(f"SELECT DISTINCT day FROM {DEFAULT_PARTITION} WHERE day = ANY(:days)"),
                {"days": missing},
            )
        ).all()
    )
    for day in in_default:
        log.warning("events of %s are in the default partition: that day keeps no partition", day)
    created = [day for day in missing if day not in in_default]
    for day in created:
        # Names and bounds are dates formatted here, never input.
        await session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {LOG_TABLE} "
                f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + dt.timedelta(days=1)).isoformat()}')"
            )
        )
    return created


async def drop_before(session: AsyncSession, *, cutoff: dt.date) -> int:
    """Drop the partitions of days before `cutoff` (and such rows of the default); returns the days."""
    old = sorted(day for day in await partition_days(session) if day < cutoff)
    for day in old:
        await session.execute(text(f"DROP TABLE {partition_name(day)}"))
    await session.execute(text(f"DELETE FROM {DEFAULT_PARTITION} WHERE day < :cutoff"), {"cutoff": cutoff})
    return len(old)


async def keep_partitions(
    session: AsyncSession, *, now: dt.datetime, retention_days: int, ahead_days: int
) -> int:
    """The prune job's part: the coming days created, the days past retention dropped (counted)."""
    today = now.astimezone(dt.UTC).date()
    created = await create_ahead(session, today=today, ahead_days=ahead_days)
    if created:
        log.info("event log partitions created for %s to %s", created[0], created[-1])
    return await drop_before(session, cutoff=today - dt.timedelta(days=retention_days))
