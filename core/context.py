"""What every GraphQL resolver receives: the viewer, database access, loaders and shared clients."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from strawberry.types import Info

from core.database import limit_statement_time
from core.pool_shares import pool_shares
from core.ratelimit import rate_limit_identity
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
    # Mutations write through the primary (reads may come from a replica).
    write_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    client_ip: str | None = None
    # The request's Idempotency-Key header, if any.
    idempotency_key: str | None = None
    # Fingerprint of the whole request (document, operation, variables), for header keys.
    request_fingerprint: str | None = None
    # Key rows this request completed: (row id, response key of the mutation field or None for all).
    completed_keys: list[tuple[int, str | None]] = field(default_factory=list)
    # The HTTP response being built (headers can be added), when served over HTTP.
    response: Any = None
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One instance per loader class, made on first use and dropped with the request, so cached rows
    # never outlive the request or reach another viewer.
    _loaders: dict[type, Any] = field(default_factory=dict)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for one read: its own pooled connection (concurrent batches never share one),
        or the context's shared session, serialised.

        An own connection is one of the caller's share of the pool (core/pool_shares.py), and an
        anonymous caller's reads run under the shorter anonymous statement timeout.
        """
        if self.session is not None:
            async with self._session_lock:
                yield self.session
            return
        if self.sessionmaker is None:
            raise RuntimeError("RequestContext has neither a session nor a sessionmaker")
        async with self._pool_slot(), self.sessionmaker() as session:
            timeout_ms = self._anonymous_timeout_ms()
            if timeout_ms is not None:
                await limit_statement_time(session, timeout_ms)
            yield session

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction on the primary, committed when the block ends."""
        if self.session is not None:
            async with self._session_lock, self.session.begin_nested():
                yield self.session
            return
        if self.write_sessionmaker is None:
            raise RuntimeError("RequestContext has no write_sessionmaker")
        async with self._pool_slot(), self.write_sessionmaker() as session, session.begin():
            yield session

    def _pool_slot(self) -> AbstractAsyncContextManager[None]:
        s = self.settings
        shares = pool_shares(
            per_caller=s.db_connections_per_caller,
            anonymous=s.db_connections_anonymous,
            wait_s=s.db_connection_wait_s,
        )
        identity = rate_limit_identity(self.viewer, self.client_ip)
        return shares.slot(identity, anonymous=not self.viewer.is_authenticated)

    def _anonymous_timeout_ms(self) -> int | None:
        """The anonymous statement timeout, when it applies and is shorter than the pool's."""
        if self.viewer.is_authenticated:
            return None
        s = self.settings
        anonymous, pool = s.db_anonymous_statement_timeout_ms, s.db_statement_timeout_ms
        if anonymous == 0 or (pool != 0 and anonymous >= pool):
            return None
        return anonymous

    @asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction for one mutation: committed when the block ends, rolled back on any error.

        Afterwards reads go to the primary and loaders start empty, so the payload (and any later
        mutation of the same request) sees what was written.
        """
        async with self.write_session() as session:
            yield session
        if self.write_sessionmaker is not None and self.session is None:
            self.sessionmaker = self.write_sessionmaker
        self._loaders.clear()

    def on_session(self, session: AsyncSession) -> RequestContext:
        """This request's context with every read on `session` and fresh loaders: a mutation's
        payload, read inside its transaction, sees what the transaction wrote."""
        return dataclasses.replace(self, session=session, _loaders={}, _session_lock=asyncio.Lock())

    @property
    def idempotency_scope(self) -> str:
        """Whose keys: the same key sent by two viewers is two keys."""
        if self.viewer.user_id is not None:
            return f"user:{self.viewer.user_id}"
        if self.viewer.is_authenticated:
            return self.viewer.label
        return f"anon:{self.client_ip or 'unknown'}"

    def loader(self, cls: Callable[[RequestContext], L]) -> L:
        instance = self._loaders.get(cls)  # type: ignore[arg-type]
        if instance is None:
            instance = self._loaders[cls] = cls(self)  # type: ignore[index]
        return instance  # type: ignore[no-any-return]


# What a resolver's `info` is typed as, in every layer.
Ctx = Info[RequestContext, None]
