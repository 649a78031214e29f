"""The shared Redis client. Redis holds only what can be lost: callers survive it being down."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.redis_breaker import GuardedPool, RedisBreaker

log = logging.getLogger(__name__)

# Short timeouts: a slow Redis must degrade the API (caches bypassed), not stall it.
SOCKET_TIMEOUT_S = 0.5


# Connections one process keeps; past them a command waits (at most SOCKET_TIMEOUT_S) for one to be
# free. redis-py's default pool raises at once instead ("Too many connections"), which a burst of
# requests would take for Redis being down: the rate limiter letting everything through, the caches
# bypassed, just when the server is busiest.
MAX_CONNECTIONS = 100


# The breaker's defaults (core/redis_settings.py has the settings the server passes): three outages
# in a row open it, and a probe goes through every second while it is open.
BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN_S = 1.0


def create_redis(
    url: str, *, breaker_threshold: int = BREAKER_THRESHOLD, breaker_cooldown_s: float = BREAKER_COOLDOWN_S
) -> aioredis.Redis:
    """The client; its pool's breaker is `breaker_of(client)`."""
    breaker = RedisBreaker(threshold=breaker_threshold, cooldown_s=breaker_cooldown_s)
    # Each client's breaker is one circuit of the "redis" breaker on /metrics. Imported here: the
    # metrics read the settings, whose Redis defaults come from this module.
    from core import metrics_hooks

    circuit = f"client-{id(breaker)}"
    breaker.listeners.append(
        lambda state: metrics_hooks.record_breaker_state("redis", state, circuit=circuit)
    )
    metrics_hooks.record_breaker_state("redis", breaker.state, circuit=circuit)
    pool = GuardedPool.from_url(
        url,
        breaker=breaker,
        max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool


def breaker_of(client: aioredis.Redis) -> RedisBreaker | None:
    """The breaker in front of `client` (its state and on-change listeners), if it has one."""
    pool = client.connection_pool
    return pool.breaker if isinstance(pool, GuardedPool) else None


async def is_up(client: aioredis.Redis) -> bool:
    """Ping Redis; any failure counts as down."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
