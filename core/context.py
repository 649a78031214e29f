"""What every GraphQL resolver receives: the viewer, database access, loaders and shared clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer

L = TypeVar("L")


@dataclass
class RequestContext:
    request: Request | None
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession] | None
    redis: aioredis.Redis | None
    viewer: Viewer = ANONYMOUS
    request_id: str | None = None
    # When set, every read goes through this one session, one at a time: a mutation's payload must
    # see the mutation's uncommitted writes, and tests read inside their rolled-back transaction.
    session: AsyncSession | None = None
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One instance per loader class, made on first use and dropped with the request, so cached rows
    # never outlive the request or reach another viewer.
    _loaders: dict[type, Any] = field(default_factory=dict)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for one read: its own pooled connection (concurrent batches never share one),
        or the context's shared session, serialised."""
        if self.session is not None:
            async with self._session_lock:
                yield self.session
            return
        if self.sessionmaker is None:
            raise RuntimeError("RequestContext has neither a session nor a sessionmaker")
        async with self.sessionmaker() as session:
            yield session

    def loader(self, cls: Callable[[RequestContext], L]) -> L:
        instance = self._loaders.get(cls)  # type: ignore[arg-type]
        if instance is None:
            instance = self._loaders[cls] = cls(self)  # type: ignore[index]
        return instance  # type: ignore[no-any-return]
