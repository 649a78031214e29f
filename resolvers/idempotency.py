"""Idempotency keys (Stripe's model, the IETF Idempotency-Key draft): one execution per (viewer, key).

The key row is inserted in the mutation's own transaction and marked completed there, so the key and
the write commit together or not at all. A transaction-scoped advisory lock on the key answers a
retry that arrives while the first attempt still runs with CONFLICT instead of a second write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.errors import ApiError, ErrorCode
from models.admin import IdempotencyKey, IdempotencyStatus

TTL = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyConflict(ApiError):
    code = ErrorCode.CONFLICT


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the canonical JSON of the operation and its input (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    row_id: int
    # Set when the key was already used successfully: replay, do not write.
    replay_ref: dict[str, Any] | None
    replayed: bool


async def claim(session: AsyncSession, *, scope: str, key: str, fingerprint: str, operation: str) -> Claim:
    """Take the key inside the current transaction, or learn that it was already used."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyConflict(
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} characters.", code=ErrorCode.BAD_USER_INPUT
        )
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"idem:{scope}:{key}"}
    )
    if not locked:
        raise IdempotencyConflict("A request with this idempotency key is still running: retry later.")
    now = dt.datetime.now(dt.UTC)
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )
    if row is not None and row.expires_at <= now:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
        row = None
    if row is not None:
        if row.fingerprint != fingerprint:
            raise IdempotencyConflict("This idempotency key was used with different input.")
        return Claim(row_id=row.id, replay_ref=row.result_ref or {}, replayed=True)
    created = IdempotencyKey(
        scope=scope, key=key, fingerprint=fingerprint, operation_name=operation, expires_at=now + TTL
    )
    session.add(created)
    await session.flush()
    return Claim(row_id=created.id, replay_ref=None, replayed=False)


async def complete(session: AsyncSession, *, claim: Claim, ref: tuple[str, int] | None) -> None:
    """Mark the key used, in the same transaction as the write it guards."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id)
        .values(
            status=IdempotencyStatus.COMPLETED.value,
            completed_at=func.now(),
            result_ref=None if ref is None else {"type": ref[0], "id": ref[1]},
        )
    )


async def attach_responses(context: RequestContext, responses: dict[int, dict[str, Any]]) -> None:
    """Store the responses sent on their key rows, for exact replays, in a transaction of their own
    (best effort: a replay can rebuild an answer by reading)."""
    async with context.write_session() as session:
        for row_id, response in responses.items():
            statement = update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(response=response)
            await session.execute(statement)


async def stored_response(context: RequestContext, *, key: str) -> IdempotencyKey | None:
    """The viewer's unexpired, completed key row, if any (read on the primary)."""
    async with context.write_session() as session:
        return await session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.scope == context.idempotency_scope,
                IdempotencyKey.key == key,
                IdempotencyKey.status == IdempotencyStatus.COMPLETED.value,
                IdempotencyKey.expires_at > func.now(),
            )
        )


async def prune(session: AsyncSession) -> int:
    """Delete expired keys; returns how many."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= func.now()))
    return int(result.rowcount or 0)
