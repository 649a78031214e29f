"""The seed loads every domain, refuses to load twice, keeps balances consistent and is deterministic."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator

import argon2
import asyncpg
import pytest
from sqlalchemy.engine import make_url

import seed
from core import database_admin as databases
from core.urls import with_database
from seed.stats import chi2_sf, sample_size

TODAY = dt.date(2026, 3, 15)
TABLES = (
    "users",
    "accounts",
    "transactions",
    "rewards_ledger",
    "campaigns",
    "campaign_analytics_daily",
    "campaign_analytics_segments",
    "campaign_trend_data",
    "ab_tests",
    "ab_test_variants",
    "ab_test_assignments",
    "ab_test_results",
    "merchants",
    "preferred_merchants",
    "ml_models",
    "user_merchant_affinity",
    "user_optimal_send_times",
    "campaign_optimizations",
    "feature_flag_rollouts",
    "feature_flag_usage",
    "feature_flag_analytics",
    "feature_flag_audit_log",
    "settings",
    "audit_log",
)
# Columns compared between two loads, row by row in id order.
DIGESTS = {
    "users": ("email", "name", "phone", "role", "loyalty_tier", "reward_points", "created_at", "deleted_at"),
    "merchants": ("code", "name", "latitude", "longitude", "city", "rating"),
    "transactions": (
        "user_id",
        "account_id",
        "merchant_id",
        "campaign_id",
        "external_ref",
        "amount",
        "occurred_at",
    ),
    "campaign_analytics_daily": (
        "campaign_id",
        "date",
        "impressions",
        "clicks",
        "conversions",
        "revenue",
        "spend",
    ),
    "ab_test_assignments": ("test_id", "user_id", "variant_id", "assigned_at", "conversions", "revenue"),
    "feature_flag_usage": (
        "flag_id",
        "user_id",
        "accessed_at",
        "value_used",
        "variant_key",
        "response_time_ms",
    ),
}


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def _counts(url: str) -> dict[str, int]:
    conn = await _connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await conn.close()


async def _digests(url: str) -> dict[str, str]:
    conn = await _connect(url)
    try:
        return {
            table: await conn.fetchval(
                f"SELECT md5(string_agg(concat_ws('|', {', '.join(columns)}), ';' ORDER BY id)) FROM {table}"
            )
            for table, columns in DIGESTS.items()
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def seeded(server_url: str, template_db_url: str, test_db_names: dict[str, str]) -> AsyncIterator[str]:
    """One demo load shared by the read-only tests of this module (a load takes a few seconds)."""
    name = f"{test_db_names['scratch_prefix']}seed_{os.getpid()}"
    await databases.create_database(server_url, name, template=make_url(template_db_url).database)
    url = with_database(server_url, name)
    try:
        report = await seed.load(database_url=url, scale="demo", progress=False, today=TODAY)
        assert report.scale == "demo" and report.seconds > 0
        yield url
    finally:
        await databases.drop_database(server_url, name)


async def test_demo_fills_every_table(seeded: str) -> None:
    counts = await _counts(seeded)
    assert counts["users"] == 1000
    assert counts["campaigns"] == 100
    assert counts["merchants"] == 500
    assert counts["ab_tests"] == 10
    assert 5_000 <= counts["transactions"] <= 20_000
    assert 5_000 <= counts["ab_test_assignments"] <= 10_000
    assert [t for t, n in counts.items() if n == 0] == []


async def test_staff_and_demo_password(seeded: str) -> None:
    conn = await _connect(seeded)
    try:
        staff = dict(await conn.fetch("SELECT email, role FROM users WHERE email LIKE '%@swipesavvy.dev'"))
        merchant_of_staff = await conn.fetchval("SELECT merchant_id FROM users WHERE role = 'merchant'")
        first_merchant = await conn.fetchval("SELECT min(id) FROM merchants")
        hashes = await conn.fetch("SELECT DISTINCT password_hash FROM users WHERE deleted_at IS NULL")
    finally:
        await conn.close()
    assert staff == {
        "admin@swipesavvy.dev": "admin",
        "marketer@swipesavvy.dev": "marketer",
        "analyst@swipesavvy.dev": "analyst",
        "merchant@swipesavvy.dev": "merchant",
        "customer@swipesavvy.dev": "customer",
    }
    assert merchant_of_staff == first_merchant
    [(stored,)] = hashes
    assert stored.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(stored, seed.DEMO_PASSWORD)


async def test_reward_points_equal_the_ledger(seeded: str) -> None:
    conn = await _connect(seeded)
    try:
        mismatched = await conn.fetchval(
            """
            SELECT count(*) FROM users u
            LEFT JOIN (SELECT user_id, sum(points) AS total FROM rewards_ledger GROUP BY user_id) l
                   ON l.user_id = u.id
            WHERE u.reward_points <> coalesce(l.total, 0)
            """
        )
        overdrawn = await conn.fetchval(
            """
            SELECT count(*) FROM (
                SELECT sum(points) OVER (PARTITION BY user_id ORDER BY created_at, id) AS balance
                FROM rewards_ledger
            ) running WHERE balance < 0
            """
        )
        trigger = await conn.fetchval(
            "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'trg_rewards_ledger_apply'"
        )
    finally:
        await conn.close()
    assert mismatched == 0
    assert overdrawn == 0
    assert trigger == "O"  # enabled again after the load


async def test_metrics_stay_within_campaign_dates_and_experiments_have_results(seeded: str) -> None:
    conn = await _connect(seeded)
    try:
        outside = await conn.fetchval(
            """
            SELECT count(*) FROM campaign_analytics_daily d JOIN campaigns c ON c.id = d.campaign_id
            WHERE c.status IN ('draft', 'scheduled')
               OR d.date < c.starts_at::date OR d.date >= c.ends_at::date
            """
        )
        missing = await conn.fetchval(
            """
            SELECT count(*) FROM ab_test_variants v JOIN ab_tests t ON t.id = v.test_id
            LEFT JOIN ab_test_results r ON r.variant_id = v.id
            WHERE t.status <> 'draft' AND r.id IS NULL
            """
        )
        winners = await conn.fetchval("SELECT count(*) FROM ab_test_results WHERE winner")
    finally:
        await conn.close()
    assert outside == 0
    assert missing == 0
    assert winners >= 1


async def test_indexes_and_foreign_keys_are_restored(seeded: str, template_db_url: str) -> None:
    query = """
        SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
            SELECT indexdef AS x FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace
        ) s
    """
    shapes = []
    for url in (seeded, template_db_url):
        conn = await _connect(url)
        try:
            shapes.append(await conn.fetchval(query))
        finally:
            await conn.close()
    assert shapes[0] == shapes[1]


async def test_second_load_is_refused_and_changes_nothing(seeded: str) -> None:
    before = await _counts(seeded)
    with pytest.raises(seed.SeedRefused, match=r"already holds seed data \(1000 users\)"):
        await seed.load(database_url=seeded, scale="demo", progress=False, today=TODAY)
    assert await _counts(seeded) == before


async def test_same_day_gives_the_same_content(seeded: str, scratch_db_url: str) -> None:
    await seed.load(database_url=scratch_db_url, scale="demo", progress=False, today=TODAY)
    assert await _digests(scratch_db_url) == await _digests(seeded)


def test_statistics_helpers() -> None:
    # Textbook critical values at 5%, and the classic 10% -> 11% sample size.
    for statistic, df in ((3.841, 1), (5.991, 2), (7.815, 3), (9.488, 4)):
        assert chi2_sf(statistic, df) == pytest.approx(0.05, abs=1e-3)
    assert sample_size(0.10, 0.10, 0.95, 0.80) == pytest.approx(14_750, rel=0.01)
