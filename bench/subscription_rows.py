"""The rows bench/subscriptions.py subscribes to and writes: one merchant, one campaign of it that is
running or paused, and one admin who flips it. Created the first time, found again afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bench.floor import asyncpg_dsn

NAME = "Bench subscriptions"
MERCHANT_CODE = "bench-subscriptions"
ADMIN_EMAIL = "bench-subscriptions-admin@example.com"


@dataclass(frozen=True)
class Rows:
    campaign_id: int
    merchant_id: int
    admin_id: int
    status: str  # "running" or "paused"


async def ensure_rows(url: str) -> Rows:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO merchant_categories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", NAME
            )
            category = await conn.fetchval("SELECT id FROM merchant_categories WHERE name = $1", NAME)
            await conn.execute(
                "INSERT INTO merchants (code, name, category_id, latitude, longitude)"
                " VALUES ($1, $2, $3, 0, 0) ON CONFLICT (code) DO NOTHING",
                MERCHANT_CODE,
                NAME,
                category,
            )
            merchant = await conn.fetchval("SELECT id FROM merchants WHERE code = $1", MERCHANT_CODE)
            admin = await conn.fetchval("SELECT id FROM users WHERE lower(email) = $1", ADMIN_EMAIL)
            if admin is None:
                admin = await conn.fetchval(
                    "INSERT INTO users (email, name, role) VALUES ($1, $2, 'admin') RETURNING id",
                    ADMIN_EMAIL,
                    NAME,
                )
            campaign = await conn.fetchrow(
                "SELECT id, status FROM campaigns WHERE name = $1 AND merchant_id = $2", NAME, merchant
            )
            if campaign is None:
                campaign = await conn.fetchrow(
                    "INSERT INTO campaigns (name, type, status, starts_at, ends_at, merchant_id)"
                    " VALUES ($1, 'email_offer', 'running', now() - interval '1 day',"
                    " now() + interval '10 years', $2) RETURNING id, status",
                    NAME,
                    merchant,
                )
            elif campaign["status"] not in ("running", "paused"):
                # An earlier run left it otherwise (by hand): the bench flips running <-> paused only.
                campaign = await conn.fetchrow(
                    "UPDATE campaigns SET status = 'running' WHERE id = $1 RETURNING id, status",
                    campaign["id"],
                )
        return Rows(campaign["id"], merchant, admin, campaign["status"])
    finally:
        await conn.close()
