"""Analytics ingestion: recordCampaignEvents in batches of 100 against one uvicorn worker.

    .venv/bin/python -m bench.ingest [--concurrency 1,8,32] [--seconds 15] [--batch 100] [--campaigns 20]

Runs against a dedicated `swipesavvy_bench_ingest` database, recreated on every run (migrated, with
a few running campaigns and nothing else), so the bench-scale data of the other benchmarks is never
incremented and every run starts from the same empty metric tables. Events are spread over the
campaigns, the last two days (hourly rows) and five segments, like the app's traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from strawberry import relay

from bench.harness import LoadResult, live_server, run_load
from core import database_admin as databases
from core import migrate
from core.database import create_engine, create_sessionmaker
from core.embedded import EmbeddedServices
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.urls import redact, with_database
from core.viewer import Role
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign

INGEST_DATABASE = "swipesavvy_bench_ingest"
RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted rejected }
}
"""
SEGMENTS = ("new_users", "loyal", "high_value", "lapsed", "students")
# Roughly a funnel: many impressions, fewer clicks, few conversions.
TYPES = ("IMPRESSION",) * 14 + ("CLICK",) * 5 + ("CONVERSION",)
DISTINCT_BATCHES = 200


@contextmanager
def ingest_database(settings: Settings, *, campaigns: int) -> Iterator[tuple[str, list[int]]]:
    """A fresh migrated database holding `campaigns` running campaigns; yields its URL and their ids."""
    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    try:
        server_url = settings.database_url or embedded.start_postgres()
        if asyncio.run(databases.database_exists(server_url, INGEST_DATABASE)):
            asyncio.run(databases.drop_database(server_url, INGEST_DATABASE))
        asyncio.run(databases.create_database(server_url, INGEST_DATABASE))
        url = with_database(server_url, INGEST_DATABASE)
        migrate.upgrade(url)
        ids = asyncio.run(_create_campaigns(url, settings, campaigns))
        print(f"database: {redact(url)}", file=sys.stderr)
        yield url, ids
    finally:
        embedded.stop()


async def _create_campaigns(url: str, settings: Settings, count: int) -> list[int]:
    engine = create_engine(url, settings, pool_size=1)
    now = dt.datetime.now(dt.UTC)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            rows = [
                Campaign(
                    name=f"Ingest bench {i}",
                    type="push_notification" if i % 2 else "email_offer",
                    status="running",
                    starts_at=now - timedelta(days=30),
                    ends_at=now + timedelta(days=30),
                )
                for i in range(count)
            ]
            session.add_all(rows)
            await session.flush()
            return [c.id for c in rows]
    finally:
        await engine.dispose()


async def _stored_events(url: str, settings: Settings) -> int:
    engine = create_engine(url, settings, pool_size=1)
    d = CampaignDailyMetrics
    try:
        async with engine.connect() as conn:
            total = await conn.scalar(select(func.sum(d.impressions + d.clicks + d.conversions)))
            return int(total or 0)
    finally:
        await engine.dispose()


def _batches(campaign_ids: list[int], size: int, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    gids = [relay.to_base64("Campaign", c) for c in campaign_ids]
    batches = []
    for _ in range(DISTINCT_BATCHES):
        events = []
        for _ in range(size):
            kind = rng.choice(TYPES)
            event: dict[str, Any] = {
                "campaignId": rng.choice(gids),
                "type": kind,
                "occurredAt": (now - timedelta(minutes=rng.randint(1, 48 * 60))).isoformat(),
                "segment": rng.choice(SEGMENTS),
            }
            if kind == "CONVERSION":
                event["revenue"] = f"{rng.randint(100, 20000) / 100:.2f}"
            events.append(event)
        batches.append({"query": RECORD, "variables": {"input": {"events": events}}})
    return batches


def _row(concurrency: int, pool: int, batch: int, result: LoadResult) -> list[str]:
    return [
        "1",
        str(pool),
        str(concurrency),
        str(batch),
        f"{result.seconds:.1f}",
        str(result.requests),
        str(result.errors),
        f"{result.rps:.1f}",
        f"{result.rps * batch:,.0f}",
        f"{result.percentile(50):.1f}",
        f"{result.percentile(95):.1f}",
    ]


HEADER = ["workers", "pool", "concurrency", "batch", "seconds", "batches", "errors", "batches/s", "events/s"]
HEADER += ["p50 ms", "p95 ms"]


def print_rows(title: str, rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(HEADER, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client concurrencies")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--batch", type=int, default=100, help="events per call (at most 500)")
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()

    settings = Settings()
    token = mint_access_token(
        secret=signing_secret(settings), user_id=None, role=Role.SERVICE, ttl=timedelta(hours=1)
    )
    headers = {"authorization": f"Bearer {token}"}
    rows: list[list[str]] = []
    calls = 0

    with (
        ingest_database(settings, campaigns=args.campaigns) as (url, campaign_ids),
        live_server(url, workers=1, pool_size=args.pool_size) as base,
    ):
        bodies = itertools.cycle(_batches(campaign_ids, args.batch))

        async def call(client: httpx.AsyncClient) -> httpx.Response:
            nonlocal calls
            calls += 1
            return await client.post(f"{base}/graphql", json=next(bodies), headers=headers)

        for concurrency in (int(c) for c in args.concurrency.split(",")):
            result = asyncio.run(run_load(call, concurrency=concurrency, seconds=args.seconds))
            rows.append(_row(concurrency, args.pool_size, args.batch, result))
        stored = asyncio.run(_stored_events(url, settings))

    print_rows(f"recordCampaignEvents, batches of {args.batch} over {args.campaigns} campaigns", rows)
    # Every call (warm-ups included) carries valid events only, so the tables must hold them all.
    print(f"\nevents sent {calls * args.batch:,}, events in campaign_analytics_daily {stored:,}")


if __name__ == "__main__":
    main()
