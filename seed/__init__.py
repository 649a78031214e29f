"""Deterministic demo and benchmark data for every table: `python server.py seed --scale demo|bench`.

The same scale and the same UTC day give the same content: every random choice comes from a fixed
seed, and the wall clock only anchors dates ("today"), so dashboards always show recent activity.
Everything is written in one transaction, with COPY, so a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

from core.passwords import hash_password_sync
from seed.admin import write_admin
from seed.analytics import write_campaign_analytics
from seed.campaigns import write_campaigns
from seed.copy import Loader, bulk_mode
from seed.experiments import write_experiments
from seed.flags import write_flags
from seed.merchants import write_merchants, write_preferred_merchants
from seed.ml import write_models, write_optimizations
from seed.notifications import write_notifications
from seed.people import write_customers, write_staff
from seed.world import SCALES, UTC, World

__all__ = ["DEMO_PASSWORD", "SCALES", "SeedRefused", "SeedReport", "demo_password_hash", "load"]

# Every seeded user, staff included, logs in with this password.
DEMO_PASSWORD = "swipesavvy-demo"
# Serialises concurrent seeders (two `serve` processes starting on an empty database).
_LOCK_KEY = 0x5357_5345_4544
# The tables that receive many rows: their foreign keys and plain indexes are rebuilt once at the end.
_BULK_TABLES = (
    "merchants",
    "users",
    "accounts",
    "transactions",
    "rewards_ledger",
    "user_merchant_affinity",
    "user_optimal_send_times",
    "campaign_analytics_daily",
    "campaign_analytics_segments",
    "campaign_trend_data",
    "ab_test_assignments",
    "feature_flag_usage",
    "feature_flag_analytics",
)


class SeedRefused(Exception):
    """The database already holds seeded data; loading again would duplicate it."""


@dataclass(frozen=True)
class SeedReport:
    scale: str
    rows: dict[str, int]  # rows written per table, in the order they were loaded
    seconds: float


def demo_password_hash() -> str:
    """The one argon2id hash all seeded users share, computed once per load (argon2 is slow on purpose)."""
    return hash_password_sync(DEMO_PASSWORD)


def _asyncpg_dsn(database_url: str) -> str:
    # asyncpg understands libpq URLs, including ?host=/path for a unix socket, but not SQLAlchemy drivers.
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def load(
    *, database_url: str, scale: str, progress: bool = True, today: dt.date | None = None
) -> SeedReport:
    """Load the `scale` data set ("demo" or "bench") into an empty, migrated database.

    `today` (UTC) anchors every date; it defaults to the current UTC day. Raises SeedRefused when the
    users table already has rows.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SCALES)}")
    started = time.perf_counter()
    world = World(SCALES[scale], today or dt.datetime.now(UTC).date(), demo_password_hash())
    conn = await asyncpg.connect(
        _asyncpg_dsn(database_url), server_settings={"application_name": "swipesavvy-seed", "timezone": "UTC"}
    )
    loader = Loader(conn, progress=progress)
    try:
        async with conn.transaction():
            # Nothing is lost if the machine dies before the commit is flushed: the seed is simply rerun.
            await conn.execute(
                "SET LOCAL synchronous_commit = off; SET LOCAL statement_timeout = 0;"
                " SET LOCAL maintenance_work_mem = '256MB'"
            )
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            users = await conn.fetchval("SELECT count(*) FROM users")
            if users:
                raise SeedRefused(
                    f"database already holds seed data ({users} users); seeding again would duplicate it."
                    " Seed an empty, migrated database instead (drop and re-create this one to start over)."
                )
            # The per-row balance trigger would run one UPDATE of users per ledger row; the balances are
            # written with the users instead, computed from the very entries that are loaded.
            await conn.execute("ALTER TABLE rewards_ledger DISABLE TRIGGER trg_rewards_ledger_apply")
            async with bulk_mode(conn, _BULK_TABLES):
                await write_merchants(loader, world)
                await write_staff(loader, world)
                await write_campaigns(loader, world)
                await write_customers(loader, world)
                await write_campaign_analytics(loader, world)
                await write_preferred_merchants(loader, world)
                await write_experiments(loader, world)
                await write_flags(loader, world)
                await write_models(loader, world)
                await write_optimizations(loader, world)
                await write_admin(loader, world)
                await write_notifications(loader, world)
            await conn.execute("ALTER TABLE rewards_ledger ENABLE TRIGGER trg_rewards_ledger_apply")
            # Fresh statistics, so the first dashboard queries get good plans without waiting for autovacuum.
            await conn.execute("ANALYZE")
    finally:
        loader.close()
        await conn.close()
    return SeedReport(scale=scale, rows=dict(loader.rows), seconds=round(time.perf_counter() - started, 2))
