"""Migration 0008's triggers: every statement writing what flag evaluation reads bumps the version, in
the writer's own transaction, whoever writes (here plain SQL, as an administrator in psql would)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core import migrate

VERSION = "SELECT version FROM feature_flag_config_version"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def conn(scratch_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(_dsn(scratch_db_url))
    try:
        yield connection
    finally:
        await connection.close()


async def _flag_id(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO feature_flags (key, name, category) VALUES ('versioned', 'V', 'ui') RETURNING id"
        )
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE feature_flags SET enabled = NOT enabled",
        "DELETE FROM feature_flags WHERE key = 'versioned'",
        "INSERT INTO feature_flag_rollouts (flag_id, variant_key, weight) VALUES ({flag_id}, 'v', 10)",
        "UPDATE feature_flag_rollouts SET weight = 0",
        "TRUNCATE feature_flag_rollouts",
    ],
)
async def test_each_write_of_flags_or_rollouts_bumps_the_version(
    conn: asyncpg.Connection, statement: str
) -> None:
    flag_id = await _flag_id(conn)
    before = await conn.fetchval(VERSION)

    await conn.execute(statement.format(flag_id=flag_id))

    # (a flag's DELETE bumps twice: its cascade to the rollouts is a statement of its own)
    assert await conn.fetchval(VERSION) > before


async def test_the_bump_commits_and_rolls_back_with_the_write(
    scratch_db_url: str, conn: asyncpg.Connection
) -> None:
    await _flag_id(conn)
    before = await conn.fetchval(VERSION)
    other = await asyncpg.connect(_dsn(scratch_db_url))
    try:
        # a write in an open transaction: its own transaction sees the bump, nobody else yet
        writing = conn.transaction()
        await writing.start()
        await conn.execute("UPDATE feature_flags SET enabled = true WHERE key = 'versioned'")
        assert await conn.fetchval(VERSION) == before + 1
        assert await other.fetchval(VERSION) == before
        await writing.rollback()
        # rolled back: no bump
        assert await other.fetchval(VERSION) == before

        # committed: everyone sees it
        async with conn.transaction():
            await conn.execute("UPDATE feature_flags SET enabled = true WHERE key = 'versioned'")
        assert await other.fetchval(VERSION) == before + 1
    finally:
        await other.close()


async def test_writes_evaluation_does_not_read_leave_it_alone(conn: asyncpg.Connection) -> None:
    flag_id = await _flag_id(conn)
    before = await conn.fetchval(VERSION)

    await conn.execute(f"INSERT INTO feature_flag_analytics (flag_id, date) VALUES ({flag_id}, '2026-01-01')")
    await conn.execute("UPDATE feature_flag_analytics SET evaluations = 3, evaluations_enabled = 1")

    assert await conn.fetchval(VERSION) == before


async def test_downgrading_0008_removes_the_version_and_its_triggers(scratch_db_url: str) -> None:
    migrate.downgrade(scratch_db_url, "0007")
    conn = await asyncpg.connect(_dsn(scratch_db_url))
    try:
        assert await conn.fetchval("SELECT to_regclass('feature_flag_config_version')") is None
        triggers = await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%config_version'")
        assert triggers == 0
        # and flags are writable without it
        await conn.execute("UPDATE feature_flags SET enabled = NOT enabled")
    finally:
        await conn.close()
    migrate.upgrade(scratch_db_url)
    migrate.check(scratch_db_url)
