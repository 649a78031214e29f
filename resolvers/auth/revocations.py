"""Access tokens of an erased account stop working at once, not when they expire.

An access token is a JWT checked without the database, so after an erasure it would still name its
user for up to ACCESS_TOKEN_TTL_MINUTES. The erasure therefore writes one Redis key per erased user,
`<prefix>erased-user:<id>`, living as long as a token minted just before the erasure could (no new
token can be minted afterwards: the account has no email or password left). Every request with a
user's token asks Redis whether that key exists: one EXISTS on a connection the rate limiter keeps
warm, and no PostgreSQL work at all for the tokens of live users.

When Redis cannot answer, the check falls back to PostgreSQL (one primary-key lookup of the user's
`deleted_at`), so a Redis outage costs a query per request rather than letting erased tokens through.
What Redis can lose is only the window: if its data is lost (not merely unreachable) within a token
lifetime of an erasure, that account's unexpired tokens would pass until they expire.
"""

from __future__ import annotations

import logging
import math
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from models.users import User

log = logging.getLogger(__name__)

KEY = "erased-user:"
# Clock skew between the workers that mint tokens and those that check them.
SKEW_S = 60
# While Redis is down every request falls back: say so once a minute, not once a request.
DOWN_LOG_INTERVAL_S = 60.0
_last_down_log = -math.inf


def _key(settings: Settings, user_id: int) -> str:
    return f"{settings.redis_key_prefix}{KEY}{user_id}"


async def remember_erasure(redis: aioredis.Redis | None, settings: Settings, *, user_id: int) -> bool:
    """Record that the user was erased, for as long as any of their tokens could live; False (and
    logged) when Redis is down: PostgreSQL's `deleted_at` still refuses the tokens while it is."""
    if redis is None:
        return False
    try:
        await redis.set(_key(settings, user_id), "1", ex=settings.access_token_ttl_minutes * 60 + SKEW_S)
    except (RedisError, OSError):
        log.warning("could not record the erasure of user %s in redis", user_id)
        return False
    return True


async def is_erased(
    redis: aioredis.Redis | None,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    user_id: int,
) -> bool:
    """Whether the user's tokens must be refused: erased (Redis, else PostgreSQL) or gone."""
    if redis is not None:
        try:
            return bool(await redis.exists(_key(settings, user_id)))
        except (RedisError, OSError):
            _log_down()
    async with sessionmaker() as session:
        row = (await session.execute(select(User.deleted_at).where(User.id == user_id))).first()
    return row is None or row.deleted_at is not None


def _log_down() -> None:
    global _last_down_log
    now = time.monotonic()
    if now - _last_down_log >= DOWN_LOG_INTERVAL_S:
        _last_down_log = now
        log.warning("erased-token check: Redis unreachable, reading erasures from PostgreSQL")
