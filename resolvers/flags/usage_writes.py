"""Flag usage: raw checks reported by the apps, the daily rollup into feature_flag_analytics, and the
API's own evaluation counts added to the same rows.

Unlike campaign events, a usage batch is all-or-nothing (the API's rule): one invalid check refuses
the batch and nothing is written. The rollup rebuilds a day from the raw rows, so running it again
gives the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, String, any_, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.viewer import Role, Viewer
from models.flags import AppType, FeatureFlag, FlagUsage
from models.users import User
from resolvers.analytics.writes import MAX_AGE, MAX_AHEAD, utc
from resolvers.flags.usage_counts import EvaluationCount
from resolvers.outcomes import Outcome, ProblemCode, Problems

MAX_CHECKS = 500
FLAG_KEY_MAX, SESSION_MAX, VARIANT_MAX = 100, 128, 100
# A check slower than a minute is a broken measurement, not a slow flag.
MAX_RESPONSE_MS = 60_000.0


@dataclass(frozen=True, slots=True)
class FlagCheck:
    """One flag check reported by an app."""

    flag_key: str
    app_type: AppType
    accessed_at: dt.datetime
    user_id: int | None = None
    session_id: str | None = None
    value_used: bool | None = None
    variant_key: str | None = None
    response_time_ms: float | None = None
    cache_hit: bool | None = None
    error: bool = False


def _check(index: int, check: FlagCheck, *, now: dt.datetime, problems: Problems) -> None:
    at = f"events.{index}."
    problems.require_length(at + "flag_key", check.flag_key, max_length=FLAG_KEY_MAX, required=True)
    problems.require_length(at + "session_id", check.session_id, max_length=SESSION_MAX)
    problems.require_length(at + "variant_key", check.variant_key, max_length=VARIANT_MAX)
    problems.require_range(at + "response_time_ms", check.response_time_ms, low=0.0, high=MAX_RESPONSE_MS)
    accessed = utc(check.accessed_at)
    if accessed < now - MAX_AGE or accessed > now + MAX_AHEAD:
        problems.add(
            at + "accessed_at",
            f"Must be within the last {MAX_AGE.days} days and at most "
            f"{int(MAX_AHEAD.total_seconds() // 60)} minutes ahead.",
            ProblemCode.OUT_OF_RANGE,
        )


async def _flag_ids(session: AsyncSession, keys: set[str]) -> dict[str, int]:
    rows = await session.execute(
        select(FeatureFlag.key, FeatureFlag.id).where(
            FeatureFlag.key == any_(bindparam("keys", sorted(keys), type_=ARRAY(String)))
        )
    )
    return {key: flag_id for key, flag_id in rows}


async def _existing_users(session: AsyncSession, ids: set[int]) -> set[int]:
    rows = await session.scalars(
        select(User.id).where(User.id == any_(bindparam("ids", sorted(ids), type_=ARRAY(BigInteger))))
    )
    return set(rows)


def _user_of(index: int, check: FlagCheck, viewer: Viewer, problems: Problems) -> int | None:
    """Customers report their own checks only; services name the user (or none)."""
    if viewer.role is not Role.CUSTOMER:
        return check.user_id
    if check.user_id is not None and check.user_id != viewer.user_id:
        problems.add(f"events.{index}.user_id", "You report your own checks only.", ProblemCode.FORBIDDEN)
    return viewer.user_id


async def record_flag_usage(
    *,
    session: AsyncSession,
    viewer: Viewer,
    checks: list[FlagCheck],
    now: dt.datetime,
    request_id: str | None = None,
) -> Outcome[int]:
    """Store the reported checks in feature_flag_usage, or none of them if one is invalid."""
    problems = Problems()
    users: list[int | None] = []
    for index, check in enumerate(checks):
        _check(index, check, now=now, problems=problems)
        users.append(_user_of(index, check, viewer, problems))
    flags = await _flag_ids(session, {c.flag_key for c in checks}) if checks else {}
    named = {u for u in users if u is not None and viewer.role is not Role.CUSTOMER}
    known_users = await _existing_users(session, named) if named else set()
    for index, (check, user_id) in enumerate(zip(checks, users, strict=True)):
        if check.flag_key and check.flag_key not in flags:
            problems.add(f"events.{index}.flag_key", "No such flag.", ProblemCode.NOT_FOUND)
        if user_id is not None and user_id in named and user_id not in known_users:
            problems.add(f"events.{index}.user_id", "No such user.", ProblemCode.NOT_FOUND)
    if problems:
        return Outcome.refused(problems)
    if checks:
        await session.execute(
            insert(FlagUsage),
            [
                {
                    "flag_id": flags[c.flag_key],
                    "user_id": user_id,
                    "session_id": c.session_id,
                    "app_type": c.app_type.value,
                    "accessed_at": utc(c.accessed_at),
                    "value_used": c.value_used,
                    "variant_key": c.variant_key,
                    "response_time_ms": c.response_time_ms,
                    "cache_hit": c.cache_hit,
                    "error": c.error,
                    "request_id": None if request_id is None else request_id[:64],
                }
                for c, user_id in zip(checks, users, strict=True)
            ],
        )
    return Outcome(value=len(checks), ref=("FlagUsageBatch", len(checks)))


# total_users counts distinct signed-in users, as the seed's rollup does; anonymous checks count as
# checks only. Response times are summed as numeric, which is exact: the total does not depend on the
# order rows are scanned in, so a rerun finds the very same value and leaves the row alone. Flags
# without checks that day keep their row: once raw rows are pruned (30 days), a rerun must not erase
# the history it can no longer rebuild.
ROLLUP = text("""
INSERT INTO feature_flag_analytics AS a (flag_id, date, total_users, total_checks, enabled_count,
    disabled_count, error_count, cache_hits, response_time_ms_total)
SELECT flag_id, CAST(:day AS date), count(DISTINCT user_id), count(*),
       count(*) FILTER (WHERE value_used), count(*) FILTER (WHERE NOT value_used),
       count(*) FILTER (WHERE error), count(*) FILTER (WHERE cache_hit),
       CAST(coalesce(sum(CAST(response_time_ms AS numeric)), 0) AS double precision)
FROM feature_flag_usage
WHERE accessed_at >= :start AND accessed_at < :end
GROUP BY flag_id
ORDER BY flag_id
ON CONFLICT (flag_id, date) DO UPDATE SET
    total_users = excluded.total_users,
    total_checks = excluded.total_checks,
    enabled_count = excluded.enabled_count,
    disabled_count = excluded.disabled_count,
    error_count = excluded.error_count,
    cache_hits = excluded.cache_hits,
    response_time_ms_total = excluded.response_time_ms_total
-- A rerun that finds the same sums leaves the row untouched (same updated_at, no dead tuple).
WHERE (a.total_users, a.total_checks, a.enabled_count, a.disabled_count, a.error_count, a.cache_hits,
       a.response_time_ms_total)
    IS DISTINCT FROM (excluded.total_users, excluded.total_checks, excluded.enabled_count,
       excluded.disabled_count, excluded.error_count, excluded.cache_hits, excluded.response_time_ms_total)
""")


async def rollup_flag_usage(session: AsyncSession, *, day: dt.date) -> int:
    """Rebuild feature_flag_analytics for one UTC day from the raw checks; returns the rows it changed."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    result = await session.execute(ROLLUP, {"day": day, "start": start, "end": start + dt.timedelta(days=1)})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def yesterday_utc() -> dt.date:
    """The default day of `python server.py rollup-flag-usage`."""
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


# The counts of every worker's flushes add up: each adds its own since its last flush. Joined to
# feature_flags, so the counts of a flag deleted since are dropped instead of failing the whole
# flush on its foreign key. Rows in key order: two workers flushing at once lock them in the same
# order and never deadlock.
ADD_EVALUATIONS = text("""
INSERT INTO feature_flag_analytics AS a (flag_id, date, evaluations, evaluations_enabled)
SELECT c.flag_id, c.date, c.evaluations, c.enabled
FROM unnest(CAST(:flag_ids AS bigint[]), CAST(:dates AS date[]), CAST(:evaluations AS bigint[]),
            CAST(:enabled AS bigint[])) AS c (flag_id, date, evaluations, enabled)
JOIN feature_flags AS f ON f.id = c.flag_id
ORDER BY c.flag_id, c.date
ON CONFLICT (flag_id, date) DO UPDATE SET
    evaluations = a.evaluations + excluded.evaluations,
    evaluations_enabled = a.evaluations_enabled + excluded.evaluations_enabled
""")


async def add_evaluation_counts(connection: AsyncConnection, counts: Sequence[EvaluationCount]) -> int:
    """Add evaluation counts to their flag-days in one statement; returns the rows it wrote."""
    if not counts:
        return 0
    result = await connection.execute(
        ADD_EVALUATIONS,
        {
            "flag_ids": [c.flag_id for c in counts],
            "dates": [c.date for c in counts],
            "evaluations": [c.evaluations for c in counts],
            "enabled": [c.enabled for c in counts],
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
