"""Reset links: single-use tokens to set an account's password, and their delivery as a job.

A write that wants the account to get a link (signUp, requestPasswordReset, adminResetPassword) only
defers `send-password-reset` with the account's id, in its own transaction: the job exists if and
only if that write commits, and it holds no secret. The job (jobs/auth.py) mints the token when it
runs, commits its SHA-256 (the token itself is stored nowhere), and then sends the link; a provider
that fails sends the job back for a retry, which mints a fresh link and voids the unsent one, so the
link a person finally reads is the only one that works.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.jobs.enqueue import enqueue_in
from core.settings import Settings
from core.tokens import new_opaque_token, token_digest
from models.auth import PasswordResetToken
from models.users import User

TASK = "send-password-reset"
# The notifications' queue, ahead of a campaign's backlog: someone is waiting for this one.
QUEUE = "notifications"
PRIORITY = 100


@dataclass(frozen=True, slots=True)
class ResetRequest:
    """A link to deliver: to whom, and the token it carries."""

    email: str
    token: str


async def defer_reset_link(session: AsyncSession, *, user_id: int, now: dt.datetime) -> None:
    """The account gets a fresh link once this transaction commits.

    While one account's job waits, a second request defers nothing: the waiting job mints its link
    when it runs, so it is as fresh as the second one would have been (and a flood sends one mail).
    """
    await enqueue_in(
        session,
        TASK,
        {"user_id": user_id, "requested_at": now.isoformat()},
        queue=QUEUE,
        queueing_lock=f"{TASK}:{user_id}",
        priority=PRIORITY,
    )


def lapsed(requested_at: dt.datetime, *, settings: Settings, now: dt.datetime) -> bool:
    """A request older than a link's lifetime gets no link: no link arrives later than one sent at
    once would have expired (whoever asked has asked again, or given up)."""
    return now - requested_at > dt.timedelta(minutes=settings.password_reset_ttl_minutes)


async def mint_link(
    session: AsyncSession, *, user_id: int, settings: Settings, now: dt.datetime
) -> ResetRequest | None:
    """A new link for the account, voiding its older ones; None for an erased or mail-less account."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None or user.email is None:
        return None
    return await issue_reset_link(session, user=user, settings=settings, now=now)


async def issue_reset_link(
    session: AsyncSession, *, user: User, settings: Settings, now: dt.datetime
) -> ResetRequest:
    """A fresh single-use link for the account, voiding its older ones; only its SHA-256 is stored."""
    assert user.email is not None
    await void_reset_tokens(session, user_id=user.id, now=now)
    token = new_opaque_token()
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.password_reset_ttl_minutes),
        )
    )
    await session.flush()
    return ResetRequest(email=user.email, token=token)


async def has_valid_link(session: AsyncSession, *, user_id: int, now: dt.datetime) -> bool:
    found = await session.scalar(
        select(PasswordResetToken.id)
        .where(
            PasswordResetToken.user_id == user_id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .limit(1)
    )
    return found is not None


async def void_reset_tokens(session: AsyncSession, *, user_id: int, now: dt.datetime) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
