"""What the lifespan opens once and every request reads: the app's typed lifespan state."""

from __future__ import annotations

from typing import TypedDict

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.drain import Drain
from core.services import Services


class AppState(TypedDict):
    """Yielded by server.py's lifespan; the ASGI server hands each request a shallow copy of it, which
    handlers read as `request.state.<name>`."""

    engine: AsyncEngine
    # The primary: mutations and the API-key lookup (it records when a key was last used).
    sessionmaker: async_sessionmaker[AsyncSession]
    # The read replica when DATABASE_READ_URL is set, else the primary.
    read_sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    # The change dispatcher, the caches and the flag snapshot (core/services.py).
    services: Services
    # Whether this process is shutting down (core/serving.py sets it; /readyz and WebSockets read it).
    drain: Drain
