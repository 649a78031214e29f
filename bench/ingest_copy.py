"""What bench.ingest measures the API against, and the fold it needs: the same events COPYed straight
into campaign_events_pending (asyncpg `copy_records_to_table`, the fastest way in), and one job worker
(`python server.py worker`) folding everything appended while the bench runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from strawberry import relay

from bench.harness import LoadResult
from core.settings import PROJECT_ROOT

PENDING = "campaign_events_pending"
COLUMNS = ("campaign_id", "type", "occurred_at", "segment", "revenue")
# How long the counters may take to catch up after the load before the bench calls it a failure.
CATCH_UP_S = 300.0


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def records(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A GraphQL batch's events as rows of the pending table."""
    rows = []
    for e in body["variables"]["input"]["events"]:
        _, pk = relay.from_base64(e["campaignId"])
        revenue = Decimal(e["revenue"]) if "revenue" in e else None
        at = dt.datetime.fromisoformat(e["occurredAt"])
        rows.append((int(pk), e["type"].lower(), at, e.get("segment"), revenue))
    return rows


async def copy_load(
    url: str, batches: list[list[tuple[Any, ...]]], *, concurrency: int, seconds: float
) -> LoadResult:
    """`concurrency` connections COPYing one batch per round trip (each its own transaction, like a call)."""
    connections = [await asyncpg.connect(dsn(url)) for _ in range(concurrency)]
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(conn: asyncpg.Connection, offset: int) -> None:
        n = offset
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await conn.copy_records_to_table(PENDING, records=batches[n % len(batches)], columns=COLUMNS)
            latencies.append((time.perf_counter() - started) * 1000)
            n += 1

    try:
        began = time.perf_counter()
        await asyncio.gather(*(client(c, i * 7) for i, c in enumerate(connections)))
        return LoadResult(len(latencies), 0, time.perf_counter() - began, latencies, [])
    finally:
        for conn in connections:
            await conn.close()


async def wait_folded(url: str) -> float:
    """Wait until nothing is pending; the seconds it took."""
    conn = await asyncpg.connect(dsn(url))
    began = time.perf_counter()
    try:
        while await conn.fetchval(f"SELECT EXISTS (SELECT FROM {PENDING})"):
            if time.perf_counter() - began > CATCH_UP_S:
                raise RuntimeError(f"events still pending after {CATCH_UP_S:.0f}s")
            await asyncio.sleep(0.2)
        return time.perf_counter() - began
    finally:
        await conn.close()


async def counted(url: str) -> dict[str, int]:
    """Events counted in each counter table and logged, and still pending."""
    conn = await asyncpg.connect(dsn(url))
    try:
        sums = "sum(impressions + clicks + conversions)"
        return {
            "campaign_analytics_daily": int(
                await conn.fetchval(f"SELECT coalesce({sums}, 0) FROM campaign_analytics_daily")
            ),
            "campaign_trend_data": int(
                await conn.fetchval(f"SELECT coalesce({sums}, 0) FROM campaign_trend_data")
            ),
            "campaign_events (log)": int(await conn.fetchval("SELECT count(*) FROM campaign_events")),
            "pending": int(await conn.fetchval(f"SELECT count(*) FROM {PENDING}")),
        }
    finally:
        await conn.close()


@contextmanager
def fold_worker(url: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """One job worker (its fold loop) on the bench database while the block runs."""
    environment = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", **env}
    child = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "server.py"), "worker"], cwd=PROJECT_ROOT, env=environment
    )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
