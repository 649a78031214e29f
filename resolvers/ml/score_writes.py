"""Bulk scores from the ML pipeline: user-merchant affinities and best send times, all rows or none.

They are data the pipeline recomputes, so they are not audited (the next run overwrites them anyway).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.merchants import Merchant
from models.ml import UserMerchantAffinity, UserOptimalSendTime
from models.users import User
from resolvers.outcomes import Outcome, ProblemCode, Problems

MAX_BATCH = 1000
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12,2)


@dataclass(frozen=True, slots=True)
class AffinityRow:
    # None: the global id given was not a User / Merchant id.
    user_id: int | None
    merchant_id: int | None
    affinity_score: float
    interaction_count: int = 0
    purchase_count: int = 0
    avg_transaction_value: Decimal | None = None
    last_interaction_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SendTimeRow:
    user_id: int | None
    optimal_hour: int
    optimal_day_of_week: int
    confidence_score: float | None = None
    open_rate_morning: float | None = None
    open_rate_afternoon: float | None = None
    open_rate_evening: float | None = None
    engagement_score: float | None = None


AFFINITY_RANGES: dict[str, tuple[Any, Any]] = {
    "affinity_score": (0, 1),
    "interaction_count": (0, None),
    "purchase_count": (0, None),
    "avg_transaction_value": (Decimal(0), MAX_MONEY),
}
SEND_TIME_RANGES: dict[str, tuple[Any, Any]] = {
    "optimal_hour": (0, 23),
    "optimal_day_of_week": (0, 6),
    **{
        name: (0, 1)
        for name in (
            "confidence_score",
            "open_rate_morning",
            "open_rate_afternoon",
            "open_rate_evening",
            "engagement_score",
        )
    },
}


async def _existing(session: AsyncSession, column: Any, ids: set[int], *extra: Any) -> set[int]:
    if not ids:
        return set()
    return set(await session.scalars(select(column).where(column.in_(ids), *extra)))


async def _check_rows(
    session: AsyncSession, list_name: str, rows: Sequence[Any], key: tuple[str, ...], ranges: dict[str, Any]
) -> Problems:
    """Every problem of every row, named `<list>.<index>.<field>`; the whole batch or nothing."""
    problems = Problems()
    if len(rows) > MAX_BATCH:
        problems.add(list_name, f"At most {MAX_BATCH} rows per call.", ProblemCode.OUT_OF_RANGE)
        return problems
    users = await _existing(
        session, User.id, {r.user_id for r in rows if r.user_id is not None}, User.deleted_at.is_(None)
    )
    merchants: set[int] = set()
    if "merchant_id" in key:
        merchants = await _existing(
            session, Merchant.id, {r.merchant_id for r in rows if r.merchant_id is not None}
        )
    seen: dict[tuple[Any, ...], int] = {}
    for i, row in enumerate(rows):
        at = f"{list_name}.{i}."
        if row.user_id not in users:
            problems.add(at + "user_id", "No such user.", ProblemCode.NOT_FOUND)
        if "merchant_id" in key and row.merchant_id not in merchants:
            problems.add(at + "merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)
        for name, (low, high) in ranges.items():
            problems.require_range(at + name, getattr(row, name), low=low, high=high)
        identity = tuple(getattr(row, k) for k in key)
        if identity in seen:
            problems.add(at + key[-1], f"Repeats {list_name}.{seen[identity]}.", ProblemCode.INVALID)
        seen.setdefault(identity, i)
    return problems


async def _upsert(
    session: AsyncSession, model: type[Any], rows: list[dict[str, Any]], key: tuple[str, ...], **extra: Any
) -> int:
    """One INSERT ... ON CONFLICT DO UPDATE; each row replaces what was stored for its key."""
    if not rows:
        return 0
    # Rows in key order: two overlapping batches lock their rows in the same order, never deadlock.
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    statement = insert(model).values([{**r, **extra} for r in rows])
    columns = [c for c in rows[0] if c not in key]
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={**{c: statement.excluded[c] for c in columns}, **extra},
    ).returning(model.id)
    return len((await session.scalars(statement)).all())


async def upsert_affinities(*, session: AsyncSession, rows: Sequence[AffinityRow]) -> Outcome[int]:
    """Store the pipeline's user-merchant affinities; returns how many rows were written."""
    key = ("user_id", "merchant_id")
    problems = await _check_rows(session, "scores", rows, key, AFFINITY_RANGES)
    if problems:
        return Outcome.refused(problems)
    count = await _upsert(session, UserMerchantAffinity, [asdict(r) for r in rows], key)
    return Outcome(value=count, ref=("MerchantAffinities", count))


async def upsert_send_times(*, session: AsyncSession, rows: Sequence[SendTimeRow]) -> Outcome[int]:
    """Store the pipeline's best send time per user; returns how many rows were written."""
    key = ("user_id",)
    problems = await _check_rows(session, "times", rows, key, SEND_TIME_RANGES)
    if problems:
        return Outcome.refused(problems)
    values = [asdict(r) for r in rows]
    count = await _upsert(session, UserOptimalSendTime, values, key, last_calculated_at=func.now())
    return Outcome(value=count, ref=("OptimalSendTimes", count))
