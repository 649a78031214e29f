"""Async engines and sessions over asyncpg."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.settings import Settings
from core.urls import async_database_url

log = logging.getLogger("swipesavvy")

APPLICATION_NAME = "swipesavvy-api"


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
    return create_async_engine(
        async_database_url(url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"server_settings": server_settings},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit refresh I/O)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def is_up(engine: AsyncEngine, *, timeout_s: float) -> bool:
    """Whether PostgreSQL answers a trivial query within `timeout_s` (readiness)."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
        log.warning("readiness: postgresql unreachable", exc_info=True)
        return False
    return True


async def limit_statement_time(session: AsyncSession, timeout_ms: int) -> None:
    """Lower the statement timeout for the rest of the session's transaction.

    `set_config(..., true)` is SET LOCAL: it ends with the transaction, so the pooled connection goes
    back to the pool with the timeout of its startup packet. The value is a bound parameter (SET
    itself takes none).
    """
    await session.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(timeout_ms)})
