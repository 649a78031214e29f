"""Sessions: refresh-token families, rotation with reuse detection (RFC 9700 §4.14.2), revocation.

A login starts a family; every refresh exchanges the presented token for its successor and marks it
rotated. Presenting a rotated token again means two parties hold it (a thief and the owner), so the
whole family is revoked — except within `refresh_grace_seconds` of the rotation, when the successor
has not been used yet: that is a mobile client retrying after losing the response, and it gets the
same successor again (with a fresh access token). The successor's plaintext is never stored; it is
HMAC(secret, old token) (core/tokens.py), so only the holder of the old token can recompute it.
Access tokens stay valid until they expire (15 minutes): revocation stops the refreshing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.tokens import mint_access_token, new_opaque_token, successor_refresh_token, token_digest
from core.viewer import Role
from models.auth import RefreshToken, RefreshTokenFamily
from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.outcomes import Outcome, Problem, ProblemCode

log = logging.getLogger(__name__)

UA_MAX = 300
INVALID = Problem(
    "refresh_token", "The refresh token is invalid or expired; sign in again.", ProblemCode.INVALID
)
REUSED = Problem("refresh_token", "The refresh token was already used; sign in again.", ProblemCode.INVALID)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_token_expires_at: dt.datetime
    refresh_token: str
    refresh_token_expires_at: dt.datetime
    user_id: int
    role: str


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """A refusal is a value, not a rolled-back Outcome: revoking a family on reuse must be committed."""

    pair: TokenPair | None = None
    problem: Problem | None = None


def _pair(
    user: User, refresh: str, refresh_expires_at: dt.datetime, *, settings: Settings, secret: str
) -> TokenPair:
    ttl = dt.timedelta(minutes=settings.access_token_ttl_minutes)
    role = Role(user.role)
    access = mint_access_token(
        secret=secret,
        user_id=user.id,
        role=role,
        merchant_id=user.merchant_id if role is Role.MERCHANT else None,
        ttl=ttl,
    )
    return TokenPair(
        access_token=access,
        access_token_expires_at=dt.datetime.now(dt.UTC) + ttl,
        refresh_token=refresh,
        refresh_token_expires_at=refresh_expires_at,
        user_id=user.id,
        role=role.value,
    )


async def start_session(
    *,
    session: AsyncSession,
    user: User,
    settings: Settings,
    secret: str,
    now: dt.datetime,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> TokenPair:
    """Open a token family for a user who just proved who they are, and return its first pair."""
    expires_at = now + dt.timedelta(days=settings.refresh_token_ttl_days)
    family = RefreshTokenFamily(
        user_id=user.id,
        user_agent=(user_agent or "")[:UA_MAX] or None,
        ip_address=ip_address,
        last_used_at=now,
        expires_at=expires_at,
    )
    session.add(family)
    await session.flush()
    plaintext = new_opaque_token()
    session.add(RefreshToken(family_id=family.id, token_hash=token_digest(plaintext), expires_at=expires_at))
    await session.flush()
    return _pair(user, plaintext, expires_at, settings=settings, secret=secret)


async def revoke_family(session: AsyncSession, *, family_id: int, reason: str, now: dt.datetime) -> None:
    """Revoke one family (no-op when already revoked: the first reason is kept)."""
    await session.execute(
        update(RefreshTokenFamily)
        .where(RefreshTokenFamily.id == family_id, RefreshTokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_user_sessions(session: AsyncSession, *, user_id: int, reason: str, now: dt.datetime) -> int:
    """Revoke every live family of a user; returns how many were revoked."""
    result = await session.execute(
        update(RefreshTokenFamily)
        .where(RefreshTokenFamily.user_id == user_id, RefreshTokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(RefreshTokenFamily.id)
    )
    return len(result.all())


async def end_user_sessions(
    *, session: AsyncSession, actor: Actor, user_id: int, now: dt.datetime
) -> Outcome[int]:
    """End every session of a user on an admin's request, and audit how many were ended."""
    if await session.get(User, user_id) is None:
        return Outcome.one_problem("user_id", "No such user.", ProblemCode.NOT_FOUND)
    count = await revoke_user_sessions(session, user_id=user_id, reason="admin", now=now)
    await record_change(
        session,
        actor=actor,
        action="user.revoke_sessions",
        entity_type="user",
        entity_id=user_id,
        after={"revoked_sessions": count},
    )
    return Outcome(value=count)


async def _token(session: AsyncSession, presented: str) -> RefreshToken | None:
    # FOR UPDATE: two concurrent refreshes with one token run one after the other; the second sees
    # the token rotated and takes the grace path instead of minting a second successor.
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(presented)).with_for_update()
    )


async def rotate(
    *, session: AsyncSession, presented: str, settings: Settings, secret: str, now: dt.datetime
) -> Outcome[RefreshResult]:
    """Exchange a refresh token for a new pair, detecting reuse; a refusal is a value, committed."""
    return Outcome(value=await _exchange(session, presented, settings, secret, now))


async def _exchange(
    session: AsyncSession, presented: str, settings: Settings, secret: str, now: dt.datetime
) -> RefreshResult:
    token = await _token(session, presented)
    if token is None:
        return RefreshResult(problem=INVALID)
    family = await session.scalar(
        select(RefreshTokenFamily).where(RefreshTokenFamily.id == token.family_id).with_for_update()
    )
    assert family is not None  # the foreign key cascades
    user = await session.get(User, family.user_id)
    if user is None or user.deleted_at is not None:
        await revoke_family(session, family_id=family.id, reason="user_erased", now=now)
        return RefreshResult(problem=INVALID)
    if family.revoked_at is not None or token.expires_at <= now:
        return RefreshResult(problem=INVALID)
    successor_plain = successor_refresh_token(presented, secret=secret)
    if token.rotated_at is not None:
        return await _presented_again(session, token, family, user, successor_plain, settings, secret, now)
    expires_at = now + dt.timedelta(days=settings.refresh_token_ttl_days)
    successor = RefreshToken(
        family_id=family.id, token_hash=token_digest(successor_plain), expires_at=expires_at
    )
    session.add(successor)
    await session.flush()
    token.rotated_at = now
    token.replaced_by_id = successor.id
    # Sliding lifetime: a session used at least once a month never asks for the password again.
    family.last_used_at = now
    family.expires_at = expires_at
    await session.flush()
    return RefreshResult(pair=_pair(user, successor_plain, expires_at, settings=settings, secret=secret))


async def _presented_again(
    session: AsyncSession,
    token: RefreshToken,
    family: RefreshTokenFamily,
    user: User,
    successor_plain: str,
    settings: Settings,
    secret: str,
    now: dt.datetime,
) -> RefreshResult:
    """A rotated token again: the grace-window retry, or reuse that revokes the family."""
    assert token.rotated_at is not None
    successor = await session.get(RefreshToken, token.replaced_by_id) if token.replaced_by_id else None
    in_grace = now < token.rotated_at + dt.timedelta(seconds=settings.refresh_grace_seconds)
    if (
        in_grace
        and successor is not None
        and successor.rotated_at is None
        and successor.token_hash == token_digest(successor_plain)
    ):
        return RefreshResult(
            pair=_pair(user, successor_plain, successor.expires_at, settings=settings, secret=secret)
        )
    log.warning("refresh token reuse: revoking family %s of user %s", family.id, family.user_id)
    await revoke_family(session, family_id=family.id, reason="reuse", now=now)
    return RefreshResult(problem=REUSED)


async def end_session(
    *, session: AsyncSession, user_id: int, presented: str, now: dt.datetime
) -> Outcome[bool]:
    """Log out: revoke the family of a refresh token that belongs to `user_id`."""
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(presented))
    )
    family = await session.get(RefreshTokenFamily, token.family_id) if token is not None else None
    # Someone else's token is answered like an unknown one: no probing whether a token exists.
    if family is None or family.user_id != user_id:
        return Outcome.one_problem("refresh_token", "No such session.", ProblemCode.NOT_FOUND)
    await revoke_family(session, family_id=family.id, reason="logout", now=now)
    return Outcome(value=True)
