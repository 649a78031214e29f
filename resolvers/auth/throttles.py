"""Throttles of the sign-in paths, counted in Redis in a fixed window of `login_failure_window_s`.

Failed logins are counted per account and per IP; past the limit a login is refused with RATE_LIMITED
before any password is checked. Sign-ups (per IP) and reset requests (per target email and per IP)
count every attempt rather than failures, so reset mails cannot be used to flood someone's inbox.
If Redis is down the counters are skipped (a login still costs an argon2 verification) and it is logged.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.settings import Settings

log = logging.getLogger(__name__)

# One IP may be a carrier's NAT for many honest users: it gets more failures than one account.
IP_FACTOR = 5
# Attempts per `login_failure_window_s`: an honest person asks for a reset link once or twice.
RESET_PER_EMAIL = 3
RESET_PER_IP = 10
SIGN_UP_PER_IP = 10


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
