"""The least-privilege roles: the server's role writes rows but cannot change the schema, the
analytics role only reads, and creating them twice is harmless."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.dbroles import create_db_roles


def _dsn(url: str, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
async def roles(scratch_db_url: str) -> AsyncIterator[tuple[str, str]]:
    """Role names private to this run; dropped afterwards (roles are server-wide)."""
    names = (f"t{os.getpid()}_app", f"t{os.getpid()}_analytics")
    yield names
    conn = await asyncpg.connect(_dsn(scratch_db_url))
    try:
        for name in names:
            if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
                await conn.execute(f'DROP OWNED BY "{name}"')
                await conn.execute(f'DROP ROLE "{name}"')
    finally:
        await conn.close()


async def _as(url: str, role: str, sql: str) -> object:
    conn = await asyncpg.connect(_dsn(url, role))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_server_role_writes_rows_but_no_schema(scratch_db_url: str, roles: tuple[str, str]) -> None:
    app, analytics = roles
    for _ in range(2):  # idempotent
        await create_db_roles(scratch_db_url, app_role=app, analytics_role=analytics)

    # the server's role reads and writes rows, identity columns included
    assert await _as(scratch_db_url, app, "SELECT count(*) FROM feature_flags") == 10
    inserted = await _as(
        scratch_db_url, app, "INSERT INTO settings (key, value) VALUES ('roles.test', '1') RETURNING id"
    )
    assert isinstance(inserted, int)
    # but cannot change the schema
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as(scratch_db_url, app, "CREATE TABLE intruder (id int)")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as(scratch_db_url, app, "DROP TABLE settings")


async def test_analytics_role_only_reads(scratch_db_url: str, roles: tuple[str, str]) -> None:
    app, analytics = roles
    await create_db_roles(scratch_db_url, app_role=app, analytics_role=analytics)

    assert await _as(scratch_db_url, analytics, "SELECT count(*) FROM merchant_categories") == 8
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as(scratch_db_url, analytics, "INSERT INTO settings (key, value) VALUES ('x', '1')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as(scratch_db_url, analytics, "DELETE FROM merchant_categories")
