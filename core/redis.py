"""The shared Redis client. Redis holds only what can be lost: callers survive it being down."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Short timeouts: a slow Redis must degrade the API (caches bypassed), not stall it.
SOCKET_TIMEOUT_S = 0.5


# Connections one process keeps; past them a command waits (at most SOCKET_TIMEOUT_S) for one to be
# free. redis-py's default pool raises at once instead ("Too many connections"), which a burst of
# requests would take for Redis being down: the rate limiter letting everything through, the caches
# bypassed, just when the server is busiest.
MAX_CONNECTIONS = 100


def create_redis(url: str) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool


async def is_up(client: aioredis.Redis) -> bool:
    """Ping Redis; any failure counts as down."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
