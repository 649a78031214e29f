"""The fault harness's database: a fresh migrated one with a few running campaigns and customers
holding points (each balance backed by an earn entry), and the checks run on it at the end."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text

from bench.ingest_copy import wait_folded
from core import database_admin as databases
from core import migrate
from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.urls import with_database
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign
from models.users import RewardEntry, User

DATABASE = "swipesavvy_faults"
STARTING_POINTS = 1_000_000

# Balances that are not the sum of their ledger (the invariant of resolvers/users/rewards.py).
UNBALANCED = text(
    """SELECT count(*) FROM users u WHERE u.reward_points <>
       COALESCE((SELECT sum(r.points) FROM rewards_ledger r WHERE r.user_id = u.id), 0)"""
)


@dataclass(frozen=True)
class World:
    url: str
    admin_id: int
    customer_ids: list[int]
    campaign_ids: list[int]


async def create_world(
    server_url: str, settings: Settings, *, campaigns: int = 5, customers: int = 20
) -> World:
    await databases.create_database(server_url, DATABASE)
    url = with_database(server_url, DATABASE)
    migrate.upgrade(url)
    engine = create_engine(url, settings, pool_size=1)
    now = dt.datetime.now(dt.UTC)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            running = [
                Campaign(
                    name=f"Faults {i}",
                    type="push_notification",
                    status="running",
                    starts_at=now - timedelta(days=30),
                    ends_at=now + timedelta(days=30),
                )
                for i in range(campaigns)
            ]
            admin = User(email="faults-admin@example.com", name="Faults admin", role="admin")
            # The balance comes from the earn entry: a trigger on rewards_ledger keeps users.reward_points.
            people = [User(email=f"faults{i}@example.com", name=f"Faults {i}") for i in range(customers)]
            session.add_all([*running, admin, *people])
            await session.flush()
            session.add_all(
                RewardEntry(user_id=p.id, kind="earn", points=STARTING_POINTS, description="faults")
                for p in people
            )
            return World(url, admin.id, [p.id for p in people], [c.id for c in running])
    finally:
        await engine.dispose()


async def stored_events(url: str, settings: Settings) -> int:
    """Events the database counts: once the job worker's fold has emptied the pending table, the
    daily counters (the one place that knows where ingested events end up)."""
    await wait_folded(url)
    engine = create_engine(url, settings, pool_size=1)
    d = CampaignDailyMetrics
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.sum(d.impressions + d.clicks + d.conversions))) or 0)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Checks:
    events: int
    redemptions: Counter[int]
    unbalanced: int


async def check(world: World, settings: Settings) -> Checks:
    engine = create_engine(world.url, settings, pool_size=1)
    r = RewardEntry
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(r.user_id, func.count()).where(r.kind == "redeem").group_by(r.user_id)
            )
            redemptions = Counter({int(user): int(n) for user, n in rows})
            unbalanced = int(await conn.scalar(UNBALANCED) or 0)
    finally:
        await engine.dispose()
    return Checks(await stored_events(world.url, settings), redemptions, unbalanced)
