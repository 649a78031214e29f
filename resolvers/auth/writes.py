"""Proving who you are: login, sign-up, and password reset by a single-use link.

Login answers one error for an unknown email, an erased account and a wrong password, and spends
the same argon2 work on each (core/passwords.py verifies a dummy hash when there is no account).
Sign-up answers alike for a new and a taken email: either way the address gets a link, and the
password is set through it.
The throttles in front of these paths are resolvers/auth/throttles.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.passwords import hash_password, needs_rehash, password_problem, verify_password
from core.settings import Settings
from core.tokens import token_digest
from core.viewer import Role
from models.auth import PasswordResetToken
from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.auth.reset_links import defer_reset_link, has_valid_link, void_reset_tokens
from resolvers.auth.sessions import TokenPair, revoke_user_sessions, start_session
from resolvers.outcomes import Outcome, ProblemCode, Problems
from resolvers.users.writes import EMAIL, EMAIL_MAX, NAME_MAX, UNIQUE_EMAIL, constraint_of

WRONG_CREDENTIALS = "Wrong email or password."


# login and sign-up --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Client:
    """Where a login comes from, remembered on its session."""

    user_agent: str | None
    ip_address: str | None


async def _account(session: AsyncSession, email: str) -> User | None:
    user = await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    return None if user is None or user.deleted_at is not None else user


async def login(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    settings: Settings,
    secret: str,
    client: Client,
    now: dt.datetime,
) -> Outcome[TokenPair]:
    """Check the password and start a session; every failure gives the same answer."""
    user = await _account(session, email) if len(email) <= EMAIL_MAX else None
    ok = await verify_password(user.password_hash if user is not None else None, password)
    if user is None or not ok:
        return Outcome.one_problem(None, WRONG_CREDENTIALS, ProblemCode.INVALID)
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = now
    pair = await start_session(
        session=session,
        user=user,
        settings=settings,
        secret=secret,
        now=now,
        user_agent=client.user_agent,
        ip_address=client.ip_address,
    )
    return Outcome(value=pair)


async def sign_up(
    *,
    session: AsyncSession,
    actor: Actor,
    email: str,
    password: str,
    name: str | None,
    settings: Settings,
    secret: str,
    client: Client,
    now: dt.datetime,
) -> Outcome[TokenPair]:
    """Ask for a customer account; the answer is the same whether or not the email has one (no
    session either way: `settings`, `secret` and `client`, which signing in would need, are not
    used).

    A new address gets an account without a password and a link (the reset link of resetPassword,
    sent by a job once this commits) to set it: until then nobody signs in to it, so signing in after
    signing up tells an attacker nothing either, and nobody can take an address they do not read. A
    taken address gets nothing created, and its owner a link to the account (one while a link is
    valid), which is how they get back in and learn that someone used their address.
    No session is handed out by signUp.
    """
    problems = Problems()
    email = email.strip()
    problems.require_length("email", email, max_length=EMAIL_MAX, required=True)
    if email and len(email) <= EMAIL_MAX and not EMAIL.fullmatch(email):
        problems.add("email", "Not an email address.")
    problems.require_length("name", name, max_length=NAME_MAX)
    weak = password_problem(password)
    if weak:
        problems.add("password", weak)
    if problems:
        return Outcome.refused(problems)
    user = User(email=email, name=(name or "").strip() or None, role=Role.CUSTOMER.value)
    try:
        # The unique index decides between two concurrent sign-ups, in a savepoint so the
        # transaction stays usable.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        if constraint_of(exc) != UNIQUE_EMAIL:
            raise
        owner = await _account(session, email)
        if owner is not None and not await has_valid_link(session, user_id=owner.id, now=now):
            await defer_reset_link(session, user_id=owner.id, now=now)
        return Outcome(value=None)
    await record_change(session, actor=actor, action="user.sign_up", entity_type="user", entity_id=user.id)
    await defer_reset_link(session, user_id=user.id, now=now)
    return Outcome(value=None)


# password reset -----------------------------------------------------------------------------------


async def request_password_reset(*, session: AsyncSession, email: str, now: dt.datetime) -> Outcome[None]:
    """Void the account's links and defer a fresh one (resolvers/auth/reset_links.py); the same
    answer, and no job, for an unknown email."""
    user = await _account(session, email) if len(email) <= EMAIL_MAX else None
    # An unknown email does the same update (on no row), so the answer's timing says less about
    # whether the account exists; only the job is skipped.
    await void_reset_tokens(session, user_id=user.id if user is not None else -1, now=now)
    if user is not None and user.email is not None:
        await defer_reset_link(session, user_id=user.id, now=now)
    return Outcome(value=None)


async def reset_password(
    *, session: AsyncSession, actor: Actor, token: str, new_password: str, now: dt.datetime
) -> Outcome[int]:
    """Set a new password with a reset token (once), and end every session of the account."""
    weak = password_problem(new_password)
    if weak:
        return Outcome.one_problem("new_password", weak)
    row = await session.scalar(
        select(PasswordResetToken)
        .where(PasswordResetToken.token_hash == token_digest(token))
        .with_for_update()
    )
    user = await session.get(User, row.user_id) if row is not None else None
    if row is None or row.used_at is not None or row.expires_at <= now or user is None or user.deleted_at:
        return Outcome.one_problem("token", "The reset link is invalid or expired.", ProblemCode.INVALID)
    user.password_hash = await hash_password(new_password)
    await void_reset_tokens(session, user_id=user.id, now=now)
    # Whoever knew the old password may hold a session: a reset ends them all.
    await revoke_user_sessions(session, user_id=user.id, reason="password_reset", now=now)
    await record_change(
        session, actor=actor, action="user.reset_password", entity_type="user", entity_id=user.id
    )
    return Outcome(value=user.id, ref=("User", user.id))
