"""What every GraphQL resolver receives: the request's database access and shared clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from core.settings import Settings


@dataclass
class RequestContext:
    request: Request | None
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis | None

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short-lived session on its own pooled connection, so concurrent batches never share one."""
        async with self.sessionmaker() as session:
            yield session
