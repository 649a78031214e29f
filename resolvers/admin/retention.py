"""Retention (`python server.py prune`): delete what the platform promised not to keep.

- feature_flag_usage: raw checks older than `flags.usage_retention_days` (the seed's setting, 30 days
  when unset or invalid); the daily rollups in feature_flag_analytics are kept, so run the rollup
  first.
- audit_log, feature_flag_audit_log: older than 2 years.
- idempotency_keys: expired (expires_at <= now, as resolvers/idempotency.py reads them).
- refresh_tokens: expired, or of a family being deleted.
- refresh_token_families: expired (no token of theirs can be used again), or revoked more than 30
  days ago (kept that long to investigate a theft the revocation answered).
- campaign_event_receipts: of days no campaign event is accepted for any more (older than 7 days):
  they served only deduplication and the per-customer daily bound of those days.
- campaign_events (the folded event log): the day partitions older than `event_retention_days`
  (ANALYTICS_EVENT_RETENTION_DAYS) dropped whole, and the coming days' created ahead
  (resolvers/analytics/event_partitions.py).

Otherwise a row exactly at its cut-off is kept: only what is strictly older goes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.admin import AuditLogEntry, IdempotencyKey, Setting
from models.auth import RefreshToken, RefreshTokenFamily
from models.flags import FlagAuditEntry, FlagUsage
from resolvers.analytics.event_partitions import keep_partitions
from resolvers.analytics.writes import prune_receipts

FLAG_USAGE_SETTING = "flags.usage_retention_days"
FLAG_USAGE_DAYS = 30
AUDIT_YEARS = 2
REVOKED_FAMILY_KEPT = dt.timedelta(days=30)
# The settings' defaults (core/ingest_settings.py), for a caller without settings.
EVENT_RETENTION_DAYS = 90
PARTITIONS_AHEAD_DAYS = 7


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """The same calendar instant `years` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


async def flag_usage_days(session: AsyncSession) -> int:
    """Days of raw flag checks to keep: the setting if it is a positive whole number, else 30."""
    value: Any = await session.scalar(select(Setting.value).where(Setting.key == FLAG_USAGE_SETTING))
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return FLAG_USAGE_DAYS


async def _delete(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


async def prune(
    session: AsyncSession,
    *,
    now: dt.datetime,
    event_retention_days: int = EVENT_RETENTION_DAYS,
    partitions_ahead_days: int = PARTITIONS_AHEAD_DAYS,
) -> dict[str, int]:
    """Delete rows past their retention, in the caller's transaction; returns the count per table."""
    audit_cutoff = years_before(now, AUDIT_YEARS)
    usage_cutoff = now - dt.timedelta(days=await flag_usage_days(session))
    dead_family = or_(
        RefreshTokenFamily.expires_at < now,
        RefreshTokenFamily.revoked_at < now - REVOKED_FAMILY_KEPT,
    )
    counts: dict[str, int] = {}
    # Tokens first, those of doomed families included, so the count is not hidden in a cascade.
    counts["refresh_tokens"] = await _delete(
        session,
        delete(RefreshToken).where(
            or_(
                RefreshToken.expires_at < now,
                RefreshToken.family_id.in_(select(RefreshTokenFamily.id).where(dead_family)),
            )
        ),
    )
    counts["refresh_token_families"] = await _delete(session, delete(RefreshTokenFamily).where(dead_family))
    # Served by the accessed_at / created_at / expires_at indexes.
    counts["feature_flag_usage"] = await _delete(
        session, delete(FlagUsage).where(FlagUsage.accessed_at < usage_cutoff)
    )
    counts["audit_log"] = await _delete(
        session, delete(AuditLogEntry).where(AuditLogEntry.created_at < audit_cutoff)
    )
    counts["feature_flag_audit_log"] = await _delete(
        session, delete(FlagAuditEntry).where(FlagAuditEntry.created_at < audit_cutoff)
    )
    counts["idempotency_keys"] = await _delete(
        session, delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
    )
    counts["campaign_event_receipts"] = await prune_receipts(session, now=now)
    # Whole days of the event log: the count is of partitions, not rows.
    counts["campaign_events"] = await keep_partitions(
        session, now=now, retention_days=event_retention_days, ahead_days=partitions_ahead_days
    )
    return counts
