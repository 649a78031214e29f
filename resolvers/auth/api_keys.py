"""API keys for service-to-service calls: created and revoked by admins, shown once, stored hashed.

A key reads `ssk_<8 hex>.<43 random characters>`: the part before the dot is its `prefix`, stored in
clear so admins can tell keys apart in listings; the database holds only the SHA-256 of the whole
key. It is sent as `X-API-Key` and acts with the role (and merchant) it was created for.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.tokens import new_opaque_token, token_digest
from core.viewer import Role, Viewer
from models.auth import ApiKey, ApiKeyRole
from models.merchants import Merchant
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

NAME_MAX = 100
ENTITY = "api_key"
# Writing last_used_at on every call would turn each read into a write; once a minute is enough
# to tell a key in use from a forgotten one.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    row: ApiKey
    key: str  # the plaintext, returned to the admin this once


async def create_api_key(
    *,
    session: AsyncSession,
    actor: Actor,
    name: str,
    role: ApiKeyRole,
    merchant_id: int | None,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> Outcome[CreatedKey]:
    """Create a key scoped to a role (and to a merchant for the merchant role)."""
    problems = Problems()
    problems.require_length("name", name, max_length=NAME_MAX, required=True)
    if role is ApiKeyRole.MERCHANT and merchant_id is None:
        problems.add("merchant_id", "A merchant key must name its merchant.", ProblemCode.REQUIRED)
    if role is not ApiKeyRole.MERCHANT and merchant_id is not None:
        problems.add("merchant_id", "Only merchant keys belong to a merchant.")
    if merchant_id is not None and await session.get(Merchant, merchant_id) is None:
        problems.add("merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)  # a time without offset is UTC, the API's convention
    if expires_at is not None and expires_at <= now:
        problems.add("expires_at", "Must be in the future.", ProblemCode.OUT_OF_RANGE)
    if problems:
        return Outcome.refused(problems)
    prefix = f"ssk_{secrets.token_hex(4)}"
    key = f"{prefix}.{new_opaque_token()}"
    row = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=token_digest(key),
        role=role.value,
        merchant_id=merchant_id,
        created_by_id=actor.viewer.user_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action="api_key.create",
        entity_type=ENTITY,
        entity_id=row.id,
        after=snapshot(row),
    )
    return Outcome(value=CreatedKey(row=row, key=key), ref=("ApiKey", row.id))


async def revoke_api_key(
    *, session: AsyncSession, actor: Actor, key_id: int, now: dt.datetime
) -> Outcome[ApiKey]:
    """Revoke a key at once (revoking a revoked key changes nothing)."""
    row = await session.scalar(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
    if row is None:
        return Outcome.one_problem("id", "No such API key.", ProblemCode.NOT_FOUND)
    if row.revoked_at is None:
        before = snapshot(row)
        row.revoked_at = now
        await session.flush()
        await record_change(
            session,
            actor=actor,
            action="api_key.revoke",
            entity_type=ENTITY,
            entity_id=row.id,
            before=before,
            after=snapshot(row),
        )
    return Outcome(value=row, ref=("ApiKey", row.id))


async def viewer_for_api_key(
    session: AsyncSession, key: str, *, now: dt.datetime | None = None
) -> Viewer | None:
    """The viewer a presented X-API-Key acts as, or None for an unknown, revoked or expired key.

    Call it in a transaction that is committed: it records when the key was last used.
    """
    now = now or dt.datetime.now(dt.UTC)
    row = await session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == token_digest(key),
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )
    if row is None:
        return None
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_PRECISION:
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_PRECISION),
            )
            .values(last_used_at=now)
        )
    return Viewer(role=Role(row.role), user_id=None, merchant_id=row.merchant_id, api_key_id=row.id)


async def api_key_viewer(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> Viewer | None:
    """`viewer_for_api_key` in a transaction of its own on the primary, committed when it returns."""
    async with sessionmaker() as session, session.begin():
        return await viewer_for_api_key(session, key)
