"""Proving who you are: login (throttled), sign-up, and password reset by a single-use link.

Login answers one error for an unknown email, an erased account and a wrong password, and spends
the same argon2 work on each (core/passwords.py verifies a dummy hash when there is no account).
Failures are counted in Redis per account and per IP, in a fixed window of `login_failure_window_s`;
past the limit the login is refused with RATE_LIMITED before any password is checked. If Redis is
down the counters are skipped (the login still costs an argon2 verification) and it is logged.
sign-up (per IP) and reset requests (per target email and per IP) are counted the same way, every
attempt rather than failures, so reset mails cannot be used to flood someone's inbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.passwords import hash_password, needs_rehash, password_problem, verify_password
from core.settings import Settings
from core.tokens import new_opaque_token, token_digest
from core.viewer import Role
from models.admin import PasswordResetToken
from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.auth.sessions import TokenPair, revoke_user_sessions, start_session
from resolvers.outcomes import Outcome, ProblemCode, Problems
from resolvers.users.writes import EMAIL, EMAIL_MAX, NAME_MAX, UNIQUE_EMAIL, constraint_of

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong email or password."
# One IP may be a carrier's NAT for many honest users: it gets more failures than one account.
IP_FACTOR = 5
# Attempts per `login_failure_window_s`: an honest person asks for a reset link once or twice.
RESET_PER_EMAIL = 3
RESET_PER_IP = 10
SIGN_UP_PER_IP = 10


# throttling ---------------------------------------------------------------------------------------


class LoginThrottle:
    """Failed-login counters in Redis, per account and per IP; fails open when Redis is down."""

    def __init__(self, redis: aioredis.Redis | None, settings: Settings) -> None:
        self.redis = redis
        self.prefix = settings.redis_key_prefix + "login-fail:"
        self.limit = settings.login_max_failures
        self.window = settings.login_failure_window_s

    def _limits(self, email: str, ip: str | None) -> list[tuple[str, int]]:
        """The counters a login attempt is held against: (key, limit)."""
        # The account key is a digest: Redis never holds an email address.
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        limits = [(f"{self.prefix}acct:{account}", self.limit)]
        # An unknown IP is not counted: one shared "unknown" bucket would let one attacker lock out everyone.
        if ip:
            limits.append((f"{self.prefix}ip:{ip}", self.limit * IP_FACTOR))
        return limits

    async def retry_after(self, email: str, ip: str | None) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        if self.redis is None:
            return None
        limits = self._limits(email, ip)
        try:
            counts = await self.redis.mget([key for key, _ in limits])
            blocked = [
                key
                for (key, limit), count in zip(limits, counts, strict=True)
                if count and int(count) >= limit
            ]
            if not blocked:
                return None
            ttls = [await self.redis.ttl(key) for key in blocked]
        except (RedisError, OSError):
            log.warning("login throttle skipped: Redis is unavailable")
            return None
        return max(1, *ttls)

    async def failed(self, email: str, ip: str | None) -> None:
        if self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, _ in self._limits(email, ip):
                    # The window starts at the first failure; INCR keeps the TTL that SET NX gave.
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("login failure not counted: Redis is unavailable")

    async def succeeded(self, email: str) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.delete(self._limits(email, None)[0][0])
        except (RedisError, OSError):
            log.warning("login failures not reset: Redis is unavailable")


class AttemptThrottle:
    """Counts every attempt of one action (sign-up, reset request) in Redis; fails open."""

    def __init__(self, redis: aioredis.Redis | None, settings: Settings, action: str) -> None:
        self.redis = redis
        self.action = action
        self.prefix = f"{settings.redis_key_prefix}{action}:"
        self.window = settings.login_failure_window_s

    def _email_key(self, email: str) -> str:
        # A digest, as for logins: Redis never holds an email address.
        return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    async def attempt(
        self, *, ip: str | None, ip_limit: int, email: str | None = None, email_limit: int = 0
    ) -> int | None:
        """Count this attempt; seconds to wait when a counter is past its limit, else None."""
        if self.redis is None:
            return None
        limits = [(f"{self.prefix}{self._email_key(email)}", email_limit)] if email is not None else []
        # An unknown IP is not counted, as for logins: one shared bucket would block everyone.
        if ip:
            limits.append((f"{self.prefix}ip:{ip}", ip_limit))
        if not limits:
            return None
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, _ in limits:
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                counts = (await pipe.execute())[1::2]
            blocked = [key for (key, limit), n in zip(limits, counts, strict=True) if int(n) > limit]
            if not blocked:
                return None
            ttls = [await self.redis.ttl(key) for key in blocked]
        except (RedisError, OSError):
            log.warning("%s throttle skipped: Redis is unavailable", self.action)
            return None
        return max(1, *ttls)


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
    """Create a customer account and log it in."""
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
    user.password_hash = await hash_password(password)
    user.last_login_at = now
    try:
        # The unique index decides between two concurrent sign-ups, in a savepoint so the
        # transaction stays usable.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        if constraint_of(exc) == UNIQUE_EMAIL:
            return Outcome.one_problem("email", "Another account uses this email.", ProblemCode.TAKEN)
        raise
    await record_change(session, actor=actor, action="user.sign_up", entity_type="user", entity_id=user.id)
    pair = await start_session(
        session=session,
        user=user,
        settings=settings,
        secret=secret,
        now=now,
        user_agent=client.user_agent,
        ip_address=client.ip_address,
    )
    return Outcome(value=pair, ref=("User", user.id))


# password reset -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResetRequest:
    """What to deliver after the transaction commits; None when there is no such account."""

    email: str
    token: str


async def request_password_reset(
    *, session: AsyncSession, email: str, settings: Settings, now: dt.datetime
) -> ResetRequest | None:
    """Issue a reset token for the account (voiding older ones); None for an unknown email."""
    user = await _account(session, email) if len(email) <= EMAIL_MAX else None
    # An unknown email does the same update and token work (on no row), so the answer's timing
    # says less about whether the account exists; only the insert and the mail are skipped.
    await _void_reset_tokens(session, user_id=user.id if user is not None else -1, now=now)
    token = new_opaque_token()
    digest = token_digest(token)
    if user is None or user.email is None:
        return None
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=digest,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.password_reset_ttl_minutes),
        )
    )
    await session.flush()
    return ResetRequest(email=user.email, token=token)


async def _void_reset_tokens(session: AsyncSession, *, user_id: int, now: dt.datetime) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )


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
    await _void_reset_tokens(session, user_id=user.id, now=now)
    # Whoever knew the old password may hold a session: a reset ends them all.
    await revoke_user_sessions(session, user_id=user.id, reason="password_reset", now=now)
    await record_change(
        session, actor=actor, action="user.reset_password", entity_type="user", entity_id=user.id
    )
    return Outcome(value=user.id, ref=("User", user.id))
