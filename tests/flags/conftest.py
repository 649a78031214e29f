"""A running flag snapshot on the `live` fixture's scratch database, wired as server.py wires it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from core.redis import create_redis
from core.services import Services
from core.settings import Settings
from resolvers.flags.live_flags import LiveFlags

# A port nothing listens on: Redis "down" without stopping the suite's Redis.
DOWN_REDIS_URL = "redis://127.0.0.1:9/0"
NEVER_S = 3600.0


@dataclass
class Running:
    flags: LiveFlags
    services: Services
    settings: Settings


StartFlags = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_flags(  # type: ignore[no-untyped-def]
    live, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> AsyncIterator[StartFlags]:
    """`await start_flags(poll_s=..., redis_down=False, **settings)`: a started LiveFlags on the live
    database (stopped after the test), its Services with the after-commit subscriber, as the lifespan
    makes them. The Redis channel is private to the test."""
    started: list[Running] = []
    clients: list[aioredis.Redis] = []

    async def start(*, poll_s: float = NEVER_S, redis_down: bool = False, **overrides: object) -> Running:
        flag_settings = settings.model_copy(
            update={
                "database_url": live.url,
                "redis_key_prefix": redis_prefix,
                "flag_snapshot_poll_s": poll_s,
                "flag_usage_flush_s": NEVER_S,
                **overrides,
            }
        )
        redis = redis_client
        if redis_down:
            redis = create_redis(DOWN_REDIS_URL)
            clients.append(redis)
        flags = LiveFlags(settings=flag_settings, redis=redis)
        services = Services(flags=flags)
        services.changes.subscribe(flags.on_changes)
        await flags.start()
        running = Running(flags=flags, services=services, settings=flag_settings)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            await running.flags.stop()
        for client in clients:
            await client.aclose()
