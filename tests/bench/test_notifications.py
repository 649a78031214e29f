"""bench/notifications.py at the demo scale (about 1,000 users), so it cannot rot: the campaign is
scheduled once per customer, two worker processes deliver every notification through the log
provider, and the copy it worked on is gone afterwards. The figures themselves are not asserted."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

import seed
from bench import notifications
from bench.floor import asyncpg_dsn


async def test_the_bench_schedules_and_delivers_one_notification_per_customer(
    scratch_db_url: str, services: dict[str, str], redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed.load(database_url=scratch_db_url, scale="demo", progress=False)
    conn = await asyncpg.connect(asyncpg_dsn(scratch_db_url))
    try:
        customers = await conn.fetchval(
            "SELECT count(*) FROM users WHERE role = 'customer' AND deleted_at IS NULL"
        )
        with_devices = await conn.fetchval(
            "SELECT count(DISTINCT d.user_id) FROM devices d JOIN users u ON u.id = d.user_id "
            "WHERE d.active AND u.role = 'customer' AND u.deleted_at IS NULL"
        )
    finally:
        await conn.close()
    argv = ["--database-url", scratch_db_url, "--batch", "100", "--timeout", "120"]
    argv += ["--redis-url", services["redis_url"], "--redis-prefix", redis_prefix]

    figures = await asyncio.to_thread(notifications.main, argv)

    scheduled = figures["scheduled"]
    assert scheduled.rows + sum(scheduled.skipped.values()) == customers
    assert scheduled.rows > 0 and scheduled.baseline_rows == customers
    assert scheduled.duplicates == 0 and figures["duplicates_after"] == 0
    _, at_once_rows, _ = figures["at_once"]
    delivered = figures["delivered"]
    # all but those an at-once send moves past the quiet hours they are in
    assert figures["unsent"] == 0 and delivered.notifications + delivered.not_due == at_once_rows
    assert delivered.notifications > 0 and delivered.busiest >= 1
    by_outcome = {row[:4]: row[4] for row in delivered.outcomes}
    assert by_outcome[("in_app", "sent", "", "")] == delivered.notifications
    # every customer with a device who was sent the campaign got a push through the log provider
    assert 0 < by_outcome[("push", "sent", "", "log")] <= with_devices
    assert delivered.repeats == 0
    # the copy the bench worked on is dropped; the source is untouched
    conn = await asyncpg.connect(asyncpg_dsn(scratch_db_url))
    try:
        name = await conn.fetchval("SELECT current_database()")
        copies = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", notifications._copy_name(name)
        )
        written = await conn.fetchval("SELECT count(*) FROM campaigns WHERE name = 'bench notifications'")
    finally:
        await conn.close()
    assert (copies, written) == (0, 0)
    printed = capsys.readouterr().out
    assert "baseline INSERT … SELECT" in printed and "baseline LogProvider.send loop" in printed
