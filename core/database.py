"""Async engines and sessions over asyncpg, and what a database failure means for a request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core import read_tags
from core.changes import TrackedSession
from core.settings import Settings
from core.urls import async_database_url

log = logging.getLogger("swipesavvy")

APPLICATION_NAME = "swipesavvy-api"

# SQLSTATEs that say the server is away or going away, not that the statement was wrong: class 08
# (connection exceptions) by prefix; shutdown by an administrator (pg_terminate_backend, a restart),
# a crash, starting up or shutting down; too many connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
CONNECTION_SQLSTATE_CLASS = "08"
# statement_timeout (DB_STATEMENT_TIMEOUT_MS) cancelled the statement.
STATEMENT_TIMEOUT_SQLSTATE = "57014"
# A session used again after its connection was lost mid-transaction says only this.
LOST_IN_TRANSACTION = "Can't reconnect until invalid transaction is rolled back"
POOL_EXHAUSTED = "pool exhausted"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str, settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    """Create a pooled async engine whose connections carry the statement timeout and UTC.

    The GUCs go in asyncpg's startup packet (`server_settings`), so they cost no extra statement
    per transaction and apply to every statement the pool ever runs.
    """
    server_settings = {
        "application_name": APPLICATION_NAME,
        "timezone": "UTC",
        "statement_timeout": str(settings.db_statement_timeout_ms),
    }
    engine = create_async_engine(
        async_database_url(url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"server_settings": server_settings},
    )
    read_tags.instrument(engine.sync_engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit refresh I/O) and record what
    they write (core/changes.py)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TrackedSession
    )


async def is_up(engine: AsyncEngine, *, timeout_s: float) -> bool:
    """Whether PostgreSQL answers a trivial query within `timeout_s` (readiness)."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
        # Probed every few seconds by load balancers: an expected outage is one line, not a traceback.
        reason = unavailability(exc)
        log.warning("readiness: postgresql unreachable (%s)", reason or exc, exc_info=reason is None)
        return False
    return True


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it (SQLAlchemy wraps the DBAPI error, which wraps asyncpg's)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def unavailability(exc: BaseException | None) -> str | None:
    """Why `exc` means PostgreSQL cannot serve right now (unreachable, restarting, the connection lost,
    no free connection), for the log line; None for any other failure, a bad statement included."""
    if exc is None:
        return None
    for cause in _chain(exc):
        if isinstance(cause, sa_exc.TimeoutError):
            return POOL_EXHAUSTED
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return "connection lost"
        if isinstance(cause, sa_exc.PendingRollbackError) and LOST_IN_TRANSACTION in str(cause):
            return "connection lost"
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith(CONNECTION_SQLSTATE_CLASS)
        ):
            return f"postgresql {sqlstate}"
        if isinstance(cause, OSError):
            # Refused, reset, unreachable, a socket file gone, a connect timeout (TimeoutError).
            return type(cause).__name__
    return None


def statement_timed_out(exc: BaseException | None) -> bool:
    """Whether PostgreSQL cancelled the statement for running past statement_timeout."""
    return exc is not None and any(
        getattr(cause, "sqlstate", None) == STATEMENT_TIMEOUT_SQLSTATE for cause in _chain(exc)
    )


async def limit_statement_time(session: AsyncSession, timeout_ms: int) -> None:
    """Lower the statement timeout for the rest of the session's transaction.

    `set_config(..., true)` is SET LOCAL: it ends with the transaction, so the pooled connection goes
    back to the pool with the timeout of its startup packet. The value is a bound parameter (SET
    itself takes none).
    """
    await session.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(timeout_ms)})


# An operation's reads run in one transaction (core/context.py): every statement sees the same data.
# SQLAlchemy hands both options to asyncpg, which opens the transaction with one statement,
# `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` (a SET TRANSACTION after a plain BEGIN would be a
# second round trip); the pool puts the connection's defaults back at check-in without a statement.
READ_SNAPSHOT: dict[str, Any] = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


async def begin_snapshot(session: AsyncSession, *, timeout_ms: int | None) -> None:
    """Start `session`'s read-only REPEATABLE READ transaction, under `timeout_ms` when given.

    BEGIN goes out with the first statement (asyncpg starts transactions lazily); PostgreSQL takes the
    snapshot at that first statement, so it is the same for every later statement of the session.
    """
    await session.connection(execution_options=READ_SNAPSHOT)
    if timeout_ms is not None:
        await limit_statement_time(session, timeout_ms)
