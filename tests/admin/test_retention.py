"""prune(): each table's retention window, on hand-made rows either side of its cut-off."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.admin import AuditLogEntry, IdempotencyKey
from models.auth import RefreshToken, RefreshTokenFamily
from models.flags import FlagAuditEntry, FlagUsage
from resolvers.admin.retention import prune, years_before
from tests.models import factories as f

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
SECOND, DAY = dt.timedelta(seconds=1), dt.timedelta(days=1)
TWO_YEARS_AGO = dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC)


async def _left(db: AsyncSession, column) -> list:  # type: ignore[no-untyped-def]
    return sorted(await db.scalars(select(column)))


async def test_flag_usage_is_kept_30_days(db: AsyncSession) -> None:
    for age in (30 * DAY + SECOND, 30 * DAY, 29 * DAY, SECOND):
        await f.make_feature_flag_usage(db, accessed_at=NOW - age, session_id=str(age.total_seconds()))

    counts = await prune(db, now=NOW)

    assert counts["feature_flag_usage"] == 1
    assert await _left(db, FlagUsage.accessed_at) == sorted(NOW - a for a in (30 * DAY, 29 * DAY, SECOND))


async def test_the_usage_window_follows_the_setting_the_seed_writes(db: AsyncSession) -> None:
    await f.make_setting(db, key="flags.usage_retention_days", value=7)
    for age in (8 * DAY, 7 * DAY):
        await f.make_feature_flag_usage(db, accessed_at=NOW - age)

    counts = await prune(db, now=NOW)

    assert counts["feature_flag_usage"] == 1
    assert await _left(db, FlagUsage.accessed_at) == [NOW - 7 * DAY]


@pytest.mark.parametrize("value", [0, -3, "30", 2.5, True, {"days": 7}], ids=repr)
async def test_an_unusable_setting_falls_back_to_30_days(db: AsyncSession, value: object) -> None:
    await f.make_setting(db, key="flags.usage_retention_days", value=value)
    for age in (31 * DAY, 29 * DAY):
        await f.make_feature_flag_usage(db, accessed_at=NOW - age)

    counts = await prune(db, now=NOW)

    assert counts["feature_flag_usage"] == 1


async def test_audit_logs_are_kept_two_years(db: AsyncSession) -> None:
    for when in (TWO_YEARS_AGO - SECOND, TWO_YEARS_AGO, TWO_YEARS_AGO + SECOND):
        await f.make_audit_log_entry(db, created_at=when)
        await f.make_feature_flag_audit_entry(db, created_at=when)

    counts = await prune(db, now=NOW)

    assert (counts["audit_log"], counts["feature_flag_audit_log"]) == (1, 1)
    kept = [TWO_YEARS_AGO, TWO_YEARS_AGO + SECOND]
    assert await _left(db, AuditLogEntry.created_at) == kept
    assert await _left(db, FlagAuditEntry.created_at) == kept


def test_two_years_before_a_leap_day_is_the_28th() -> None:
    leap = dt.datetime(2028, 2, 29, 6, 0, tzinfo=dt.UTC)
    assert years_before(leap, 2) == dt.datetime(2026, 2, 28, 6, 0, tzinfo=dt.UTC)
    assert years_before(NOW, 2) == TWO_YEARS_AGO


async def test_expired_idempotency_keys_go(db: AsyncSession) -> None:
    for expires in (NOW - SECOND, NOW, NOW + SECOND):
        await f.make_idempotency_key(db, created_at=expires - DAY, expires_at=expires)

    counts = await prune(db, now=NOW)

    assert counts["idempotency_keys"] == 2
    assert await _left(db, IdempotencyKey.expires_at) == [NOW + SECOND]


async def test_expired_refresh_tokens_and_dead_families_go(db: AsyncSession) -> None:
    live = await f.make_refresh_token_family(db, expires_at=NOW + 30 * DAY)
    expired_family = await f.make_refresh_token_family(db, expires_at=NOW - SECOND)
    revoked_long_ago = await f.make_refresh_token_family(
        db, expires_at=NOW + DAY, revoked_at=NOW - 30 * DAY - SECOND
    )
    revoked_lately = await f.make_refresh_token_family(db, expires_at=NOW + DAY, revoked_at=NOW - 29 * DAY)
    kept_token = await f.make_refresh_token(db, family_id=live.id, expires_at=NOW + SECOND)
    await f.make_refresh_token(db, family_id=live.id, expires_at=NOW - SECOND)
    await f.make_refresh_token(db, family_id=expired_family.id, expires_at=NOW + DAY)
    await f.make_refresh_token(db, family_id=revoked_long_ago.id, expires_at=NOW + DAY)
    revoked_token = await f.make_refresh_token(db, family_id=revoked_lately.id, expires_at=NOW + DAY)

    counts = await prune(db, now=NOW)

    assert (counts["refresh_tokens"], counts["refresh_token_families"]) == (3, 2)
    assert await _left(db, RefreshTokenFamily.id) == sorted([live.id, revoked_lately.id])
    assert await _left(db, RefreshToken.id) == sorted([kept_token.id, revoked_token.id])


async def test_nothing_to_prune_reports_zero_for_every_table(db: AsyncSession) -> None:
    assert await prune(db, now=NOW) == {
        "refresh_tokens": 0,
        "refresh_token_families": 0,
        "feature_flag_usage": 0,
        "audit_log": 0,
        "feature_flag_audit_log": 0,
        "idempotency_keys": 0,
        "campaign_event_receipts": 0,
        "campaign_events": 0,
    }
