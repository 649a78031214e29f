"""Feature-flag loaders: flags and audit entries by id, rollouts, audit pages and usage per flag.

Usage keys carry the date range, and one statement serves every flag asking for the same range.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Row, cast, false, func, literal, select, true, tuple_

from core.policies import FLAG_AUDIT_READERS, FLAG_READERS
from core.viewer import Viewer
from loaders.base import Loader, Reader, many_per_key, one_per_key
from models.flags import FeatureFlag, FlagAuditEntry, FlagDailyAnalytics, FlagRollout

# Staff read flag configuration; services read flag keys and usage (never the audit trail).

UsageKey = tuple[int, dt.date, dt.date]  # (flag id, first day, last day), days inclusive, UTC
Cursor = tuple[dt.datetime, int]  # (created_at, id) of an audit entry

# What the GraphQL types and evaluation read of a row; flag_id groups rollouts, entries and days.
FLAG_COLUMNS = (
    FeatureFlag.id, FeatureFlag.key, FeatureFlag.name, FeatureFlag.description, FeatureFlag.category,
    FeatureFlag.type, FeatureFlag.enabled, FeatureFlag.rollout_percentage, FeatureFlag.created_at,
    FeatureFlag.updated_at,
)  # fmt: skip
ROLLOUT_COLUMNS = (
    FlagRollout.flag_id, FlagRollout.user_segment, FlagRollout.variant_key, FlagRollout.variant_value,
    FlagRollout.weight, FlagRollout.active,
)  # fmt: skip
AUDIT_ENTRY_COLUMNS = (
    FlagAuditEntry.id, FlagAuditEntry.flag_id, FlagAuditEntry.flag_key, FlagAuditEntry.action,
    FlagAuditEntry.old_value, FlagAuditEntry.new_value, FlagAuditEntry.changed_by,
    FlagAuditEntry.change_reason, FlagAuditEntry.ip_address, FlagAuditEntry.request_id,
    FlagAuditEntry.created_at,
)  # fmt: skip
USAGE_DAY_COLUMNS = (
    FlagDailyAnalytics.flag_id, FlagDailyAnalytics.date, FlagDailyAnalytics.total_users,
    FlagDailyAnalytics.total_checks, FlagDailyAnalytics.enabled_count, FlagDailyAnalytics.disabled_count,
    FlagDailyAnalytics.error_count, FlagDailyAnalytics.cache_hits, FlagDailyAnalytics.response_time_ms_total,
)  # fmt: skip


def flags_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Flags are platform configuration: staff and services see all of them, others none."""
    return true() if viewer.role in FLAG_READERS else false()


def audit_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The audit trail of flags is for staff only."""
    return true() if viewer.role in FLAG_AUDIT_READERS else false()


class FeatureFlagByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*FLAG_COLUMNS).where(FeatureFlag.id.in_(keys), flags_visible_to(self.viewer))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class FlagAuditEntryByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*AUDIT_ENTRY_COLUMNS).where(FlagAuditEntry.id.in_(keys), audit_visible_to(self.viewer))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class RolloutsByFlagLoader(Loader[int, list[Row]]):
    """Every rollout row of a flag, active or not, in creation order (the order variants hash in).

    No row visibility: evaluation reads them for every viewer, and the rollouts field is staff-only.
    """

    # uq_feature_flag_rollouts_flag_id_variant_key_user_segment leads with flag_id.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = select(*ROLLOUT_COLUMNS).where(FlagRollout.flag_id.in_(keys)).order_by(FlagRollout.id)
        return many_per_key(keys, await session.execute(query), lambda r: r.flag_id)


class AuditCountByFlagLoader(Loader[int, int]):
    """Number of audit entries of each flag: the totalCount of its audit log."""

    # ix_feature_flag_audit_log_flag_id_created_at leads with flag_id.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[int]:
        a = FlagAuditEntry
        query = (
            select(a.flag_id, func.count())
            .where(a.flag_id.in_(keys), audit_visible_to(self.viewer))
            .group_by(a.flag_id)
        )
        counts = {flag_id: n for flag_id, n in await session.execute(query)}
        return [counts.get(key, 0) for key in keys]


@dataclass(frozen=True, slots=True)
class AuditWindow:
    """One page of a flag's audit log, newest first, with decoded cursors; part of the loader key."""

    size: int
    backwards: bool = False
    after: Cursor | None = None
    before: Cursor | None = None


AuditKey = tuple[int, AuditWindow]


class AuditEntriesByFlagLoader(Loader[AuditKey, list[Row]]):
    """Up to size + 1 audit entries of each flag beyond the window's cursors, in fetch order
    (newest first, or oldest first when paging backwards); the extra row tells a next page exists.

    One statement per distinct window, however many flags share it: a LATERAL subquery runs the
    page's LIMIT once per flag on ix_feature_flag_audit_log_flag_id_created_at, so each flag costs
    size + 1 index entries. (A row_number() window partitioned by flag_id would read and sort every
    entry of every flag before keeping the first ones.)
    """

    async def load_batch(self, session: Reader, keys: list[AuditKey]) -> list[list[Row]]:
        by_window: dict[AuditWindow, list[int]] = defaultdict(list)
        for flag_id, window in keys:
            by_window[window].append(flag_id)
        found: dict[AuditKey, list[Row]] = defaultdict(list)
        for window, flag_ids in by_window.items():
            for row in await session.execute(self._statement(window, flag_ids)):
                found[(row.flag_id, window)].append(row)
        return [found.get(key, []) for key in keys]

    def _statement(self, window: AuditWindow, flag_ids: list[int]) -> Any:
        a = FlagAuditEntry
        position = tuple_(a.created_at, a.id)
        # Newest first: "after" a cursor means older than it. The plain created_at bound repeats the
        # row comparison so the index range starts at the cursor instead of at the newest entry.
        conditions = [a.flag_id == FeatureFlag.id]
        if window.after is not None:
            conditions += [a.created_at <= window.after[0], position < _position(window.after)]
        if window.before is not None:
            conditions += [a.created_at >= window.before[0], position > _position(window.before)]
        order = (a.created_at.asc(), a.id.asc()) if window.backwards else (a.created_at.desc(), a.id.desc())
        page = (
            select(*AUDIT_ENTRY_COLUMNS)
            .where(*conditions)
            .order_by(*order)
            .limit(window.size + 1)
            .lateral("page")
        )
        entry = page.c
        entry_order = (
            (entry.created_at.asc(), entry.id.asc())
            if window.backwards
            else (entry.created_at.desc(), entry.id.desc())
        )
        return (
            select(*page.c)
            .select_from(FeatureFlag)
            .join(page, true())
            .where(FeatureFlag.id.in_(flag_ids), audit_visible_to(self.viewer))
            .order_by(FeatureFlag.id, *entry_order)
        )


def _position(cursor: Cursor) -> Any:
    created_at, entry_id = cursor
    a = FlagAuditEntry
    return tuple_(literal(created_at, a.created_at.type), literal(entry_id, a.id.type))


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Sums of a flag's daily usage over a range: the input of every rate."""

    days: int
    user_days: int
    peak_daily_users: int
    total_checks: int
    enabled_count: int
    disabled_count: int
    error_count: int
    cache_hits: int
    response_time_ms_total: float

    @classmethod
    def zero(cls) -> UsageTotals:
        return cls(0, 0, 0, 0, 0, 0, 0, 0, 0.0)


def _by_range(keys: list[UsageKey]) -> dict[tuple[dt.date, dt.date], list[int]]:
    ranges: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for flag_id, start, end in keys:
        ranges[(start, end)].append(flag_id)
    return ranges


class DailyUsageByFlagLoader(Loader[UsageKey, list[Row]]):
    # uq_feature_flag_analytics_flag_id_date serves (flag_id = ANY, date BETWEEN).
    async def load_batch(self, session: Reader, keys: list[UsageKey]) -> list[list[Row]]:
        d = FlagDailyAnalytics
        found: dict[UsageKey, list[Row]] = defaultdict(list)
        for (start, end), ids in _by_range(keys).items():
            query = (
                select(*USAGE_DAY_COLUMNS)
                .where(d.flag_id.in_(ids), d.date.between(start, end), flags_visible_to(self.viewer))
                .order_by(d.date)
            )
            for row in await session.execute(query):
                found[(row.flag_id, start, end)].append(row)
        return [found.get(key, []) for key in keys]


class UsageTotalsByFlagLoader(Loader[UsageKey, UsageTotals]):
    async def load_batch(self, session: Reader, keys: list[UsageKey]) -> list[UsageTotals]:
        d = FlagDailyAnalytics
        found: dict[UsageKey, UsageTotals] = {}
        for (start, end), ids in _by_range(keys).items():
            query = (
                select(
                    d.flag_id,
                    func.count(),
                    func.sum(d.total_users),
                    func.max(d.total_users),
                    func.sum(d.total_checks),
                    func.sum(d.enabled_count),
                    func.sum(d.disabled_count),
                    func.sum(d.error_count),
                    func.sum(d.cache_hits),
                    # Summed as NUMERIC: a float sum depends on the order rows are scanned in, which
                    # depends on the other flags of the batch (found by the differential corpus).
                    func.sum(cast(d.response_time_ms_total, Numeric)),
                )
                .where(d.flag_id.in_(ids), d.date.between(start, end), flags_visible_to(self.viewer))
                .group_by(d.flag_id)
            )
            for flag_id, days, *sums, response_ms in await session.execute(query):
                found[(flag_id, start, end)] = UsageTotals(days, *(int(s) for s in sums), float(response_ms))
        return [found.get(key, UsageTotals.zero()) for key in keys]
