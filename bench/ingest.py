"""Analytics ingestion: recordCampaignEvents in batches of 100 against one uvicorn worker.

    .venv/bin/python -m bench.ingest [--concurrency 1,8,32] [--seconds 15] [--batch 100] [--campaigns 20]
                                     [--reporter service|customer] [--customers 1000]

Runs against a dedicated `swipesavvy_bench_ingest` database, recreated on every run (migrated, with
a few running campaigns and nothing else), so the bench-scale data of the other benchmarks is never
incremented and every run starts from the same empty metric tables. Events are spread over the
campaigns, the last two days (hourly rows) and five segments, like the app's traffic.

`--reporter service` (the default) sends what a backend sends: every event type, revenue included.
`--reporter customer` sends what the app sends: impressions and clicks of `--customers` signed-in
customers in turn, under segments they are in, each event with its own client event id (so every
call also writes receipts and counts the customer's daily bound).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import random
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from strawberry import relay

from bench.harness import LoadResult, bench_env, live_server, run_load
from bench.ingest_copy import copy_load, counted, fold_worker, records, wait_folded
from core import database_admin as databases
from core import migrate
from core.database import create_engine, create_sessionmaker
from core.embedded import EmbeddedServices
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.urls import redact, with_database
from core.viewer import Role
from models.campaigns import Campaign
from models.users import User

INGEST_DATABASE = "swipesavvy_bench_ingest"
RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted rejected }
}
"""
SEGMENTS = ("new_users", "loyal", "high_value", "lapsed", "students")
# Roughly a funnel: many impressions, fewer clicks, few conversions.
TYPES = ("IMPRESSION",) * 14 + ("CLICK",) * 5 + ("CONVERSION",)
# The app's share of the funnel, under segments every new bronze customer is in.
APP_SEGMENTS = ("all_users", "bronze", "new_users", "bronze_and_above")
APP_TYPES = ("IMPRESSION",) * 14 + ("CLICK",) * 5
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


async def _create_customers(url: str, settings: Settings, count: int) -> list[int]:
    engine = create_engine(url, settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            rows = [User(email=f"ingest-{i}@bench.example", role="customer") for i in range(count)]
            session.add_all(rows)
            await session.flush()
            return [u.id for u in rows]
    finally:
        await engine.dispose()


def _batches(campaign_ids: list[int], size: int, *, app: bool, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    gids = [relay.to_base64("Campaign", c) for c in campaign_ids]
    types, segments = (APP_TYPES, APP_SEGMENTS) if app else (TYPES, SEGMENTS)
    batches = []
    for _ in range(DISTINCT_BATCHES):
        events = []
        for _ in range(size):
            kind = rng.choice(types)
            event: dict[str, Any] = {
                "campaignId": rng.choice(gids),
                "type": kind,
                "occurredAt": (now - timedelta(minutes=rng.randint(1, 48 * 60))).isoformat(),
                "segment": rng.choice(segments),
            }
            if kind == "CONVERSION":
                event["revenue"] = f"{rng.randint(100, 20000) / 100:.2f}"
            events.append(event)
        batches.append({"query": RECORD, "variables": {"input": {"events": events}}})
    return batches


def _with_fresh_ids(body: dict[str, Any]) -> dict[str, Any]:
    """The batch with a new client event id per event, as a device sends it the first time."""
    events = [{**e, "clientEventId": uuid.uuid4().hex} for e in body["variables"]["input"]["events"]]
    return {**body, "variables": {"input": {"events": events}}}


def _row(
    kind: str, concurrency: int, batch: int, result: LoadResult, baseline: LoadResult | None
) -> list[str]:
    events = result.rps * batch
    ratio = "" if baseline is None else f"{baseline.rps / result.rps:.2f}x" if result.rps else "inf"
    return [
        kind,
        str(concurrency),
        f"{result.seconds:.1f}",
        str(result.requests),
        str(result.errors),
        f"{events:,.0f}",
        f"{result.percentile(50):.1f}",
        f"{result.percentile(95):.1f}",
        f"{result.percentile(99):.1f}",
        ratio,
    ]


HEADER = ["path", "clients", "seconds", "batches", "errors", "events/s", "p50 ms", "p95 ms", "p99 ms"]
HEADER += ["baseline/api"]


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
    parser.add_argument("--reporter", choices=("service", "customer"), default="service")
    parser.add_argument("--customers", type=int, default=1000, help="signed-in customers taking turns")
    args = parser.parse_args()

    settings = Settings()
    secret = signing_secret(settings)
    app = args.reporter == "customer"
    rows: list[list[str]] = []
    calls = 0

    copied = 0
    with (
        ingest_database(settings, campaigns=args.campaigns) as (url, campaign_ids),
        live_server(url, workers=1, pool_size=args.pool_size, env=bench_env(args.pool_size)) as base,
        fold_worker(url, {"JOB_CONCURRENCY": "1"}),
    ):
        if app:
            users = asyncio.run(_create_customers(url, settings, args.customers))
            tokens = [
                mint_access_token(secret=secret, user_id=u, role=Role.CUSTOMER, ttl=timedelta(hours=1))
                for u in users
            ]
        else:
            tokens = [
                mint_access_token(secret=secret, user_id=None, role=Role.SERVICE, ttl=timedelta(hours=1))
            ]
        headers = itertools.cycle([{"authorization": f"Bearer {t}"} for t in tokens])
        bodies = itertools.cycle(_batches(campaign_ids, args.batch, app=app))

        async def call(client: httpx.AsyncClient) -> httpx.Response:
            nonlocal calls
            calls += 1
            body = _with_fresh_ids(next(bodies)) if app else next(bodies)
            return await client.post(f"{base}/graphql", json=body, headers=next(headers))

        copies = [records(b) for b in _batches(campaign_ids, args.batch, app=app, seed=7)]
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            # Side by side: the baseline, then the API, at each concurrency, the fold running under both.
            baseline = asyncio.run(copy_load(url, copies, concurrency=concurrency, seconds=args.seconds))
            copied += baseline.requests * args.batch
            result = asyncio.run(run_load(call, concurrency=concurrency, seconds=args.seconds))
            rows.append(_row("COPY", concurrency, args.batch, baseline, None))
            rows.append(_row("API", concurrency, args.batch, result, baseline))
        catch_up = asyncio.run(wait_folded(url))
        stored = asyncio.run(counted(url))

    title = (
        f"recordCampaignEvents from {args.reporter}s (1 uvicorn worker, pool {args.pool_size}, 1 job worker "
        f"folding), batches of {args.batch} over {args.campaigns} campaigns; COPY: the same events straight "
        "into campaign_events_pending"
    )
    print_rows(title, rows)
    # Every call (warm-ups included) carries valid events only, so the tables must hold them all.
    sent = calls * args.batch + copied
    print(
        f"\nevents sent {sent:,} (API {calls * args.batch:,}, COPY {copied:,}); "
        f"all folded {catch_up:.1f}s after the load"
    )
    for table, total in stored.items():
        verdict = (
            "" if table == "pending" else ("  equal" if total == sent else f"  MISMATCH ({total - sent:+,})")
        )
        print(f"  {table}: {total:,}{verdict}")


if __name__ == "__main__":
    main()
