"""The shared Redis client. Redis holds only what can be lost: callers survive it being down."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Short timeouts: a slow Redis must degrade the API (caches bypassed), not stall it.
SOCKET_TIMEOUT_S = 0.5


def create_redis(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )


async def is_up(client: aioredis.Redis) -> bool:
    """Ping Redis; any failure counts as down."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
