"""What every GraphQL resolver receives: the viewer, database access, loaders and shared clients."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from starlette.requests import Request
from strawberry.types import Info

from core.changes import committed_changes
from core.database import begin_snapshot, unavailability
from core.pool_shares import pool_shares
from core.ratelimit import rate_limit_identity
from core.services import Services
from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer

log = logging.getLogger("swipesavvy")

L = TypeVar("L")
# Snapshots being ended in the background (a cancelled operation does not wait): held so they finish.
_ENDING: set[asyncio.Future[None]] = set()


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
    # The process's services (core/services.py): the change dispatcher, caches, the flag snapshot.
    services: Services = field(default_factory=Services)
    # Taken by every read (and by ending the snapshot): one statement at a time on one connection.
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One instance per loader class, made on first use and dropped with the request, so cached rows
    # never outlive the request or reach another viewer.
    _loaders: dict[type, Any] = field(default_factory=dict)
    # The operation's read snapshot while one is open, and what ends it (the session, the pool slot).
    _snapshot: AsyncSession | None = None
    _snapshot_exit: AsyncExitStack | None = None
    # The operation has ended (close): no read may open a snapshot any more, nothing would end it.
    _closed: bool = False

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """The session of the operation's reads, one read at a time (asyncpg runs one statement at a
        time per connection: batches dispatched together take turns, still one statement each).

        The first read opens the operation's snapshot: one pooled connection (one slot of the
        caller's share of the pool, core/pool_shares.py) in one REPEATABLE READ READ ONLY
        transaction, under the anonymous statement timeout when it applies. Every later read runs on
        it, so a totalCount, its page and every nested batch see the same data, and a request never
        holds two connections. It lasts until a write starts (`end_snapshot`) or the operation ends
        (`close`, from schema/extensions/read_snapshot.py).

        With `session` set (a mutation's payload, tests) every read runs on that session instead.
        """
        async with self._session_lock:
            if self.session is not None:
                yield self.session
            else:
                yield await self._snapshot_session()

    async def _snapshot_session(self) -> AsyncSession:
        if self._closed:
            # A batch outliving its cancelled operation: a snapshot opened now would never be ended.
            raise RuntimeError("The operation has ended; it reads no more.")
        if self._snapshot is not None:
            return self._snapshot
        if self.sessionmaker is None:
            raise RuntimeError("RequestContext has neither a session nor a sessionmaker")
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self._pool_slot())
            session = await stack.enter_async_context(self.sessionmaker())
            await begin_snapshot(session, timeout_ms=self._anonymous_timeout_ms())
            self._snapshot_exit = stack.pop_all()
        self._snapshot = session
        return session

    async def end_snapshot(self) -> None:
        """End the read snapshot, if one is open: its transaction rolled back, its connection and pool
        slot given back. A later read opens a fresh one (after a commit, one that sees it)."""
        async with self._session_lock:
            ending, self._snapshot, self._snapshot_exit = self._snapshot_exit, None, None
            if ending is None:
                return
            try:
                await ending.aclose()
            except Exception as exc:  # noqa: BLE001 - nothing was written; SQLAlchemy dropped the connection
                reason = unavailability(exc)
                log.warning("ending a read snapshot failed: %s", reason or exc, exc_info=reason is None)

    async def close(self) -> None:
        """The operation has ended (answered, failed or cancelled): end its snapshot for good.

        The ending runs in a task of its own, shielded, so a second cancellation cannot stop it half
        way and strand the connection. An operation being cancelled does not wait for it: a batch
        still running holds the lock until its statement ends (statement_timeout bounds that), and
        then the connection goes back to the pool.
        """
        self._closed = True
        if self._snapshot is None and not self._session_lock.locked():
            return  # nothing open, nothing opening
        ending = asyncio.ensure_future(self.end_snapshot())
        _ENDING.add(ending)
        ending.add_done_callback(_ENDING.discard)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return
        await asyncio.shield(ending)

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """`read_session`'s connection, for statements of columns (rows, not entities): SQLAlchemy then
        skips its ORM step per statement (about a quarter of a statement's cost on 50 rows). A shared
        session's pending changes are flushed first, as its own `execute` would."""
        async with self.read_session() as session:
            if session.new or session.dirty or session.deleted:
                await session.flush()
            yield await session.connection()

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction on the primary, committed when the block ends; then whoever keeps
        copies of what it changed is told (core/changes.py), before the caller answers, so the
        client's next read cannot meet a copy older than its own write."""
        if self.session is not None:
            async with self._session_lock, self.session.begin_nested():
                yield self.session
            await self._committed(self.session)
            return
        if self.write_sessionmaker is None:
            raise RuntimeError("RequestContext has no write_sessionmaker")
        # Never beside the read snapshot: one connection at a time, and reads after the write start
        # a fresh snapshot that sees it.
        await self.end_snapshot()
        async with self._pool_slot(), self.write_sessionmaker() as session:
            async with session.begin():
                yield session
            await self._committed(session)

    async def _committed(self, session: AsyncSession) -> None:
        changes = committed_changes(session)
        if changes is not None:
            await self.services.changes.dispatch(changes)

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

        A read snapshot open before it is ended first (`write_session`). Afterwards reads open a fresh
        snapshot on the primary and loaders start empty, so the payload (and any later mutation of the
        same request) sees what was written.
        """
        async with self.write_session() as session:
            yield session
        if self.write_sessionmaker is not None and self.session is None:
            self.sessionmaker = self.write_sessionmaker
        self._loaders.clear()

    def on_session(self, session: AsyncSession) -> RequestContext:
        """This request's context with every read on `session` and fresh loaders: a mutation's
        payload, read inside its transaction, sees what the transaction wrote."""
        return dataclasses.replace(
            self,
            session=session,
            _loaders={},
            _session_lock=asyncio.Lock(),
            _snapshot=None,
            _snapshot_exit=None,
            _closed=False,
        )

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
