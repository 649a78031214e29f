"""The dashboard query of issue 3 at bench scale: 50 campaigns with merchant, category, experiments,
variants, 30 days of daily metrics and a performance summary, against one uvicorn worker.

    .venv/bin/python -m bench.dashboard [--concurrency 8] [--seconds 20] [--first 50]

Seeds a `swipesavvy_bench` database at bench scale the first time (minutes), then reuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from datetime import timedelta

import httpx

from bench.harness import bench_database, bench_env, live_server, median, print_table, run_load
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role

DASHBOARD = """
query Dashboard($first: Int!, $range: DateRangeInput!) {
  campaigns(first: $first, filter: {status: [RUNNING, COMPLETED]}) {
    totalCount
    edges { node {
      id name status budget
      merchant { name city category { name colorCode } }
      experiments { key status variants { key weight } }
      dailyMetrics(range: $range) { date impressions clicks conversions revenue spend }
      performance(range: $range) { impressions clicks conversions revenue spend clickThroughRate roas roi }
    } }
  }
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()

    settings = Settings()
    today = dt.datetime.now(dt.UTC).date()
    variables = {
        "first": args.first,
        "range": {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()},
    }
    token = mint_access_token(
        secret=signing_secret(settings), user_id=1, role=Role.ADMIN, ttl=timedelta(hours=1)
    )
    headers = {"authorization": f"Bearer {token}"}

    with (
        bench_database(settings) as url,
        live_server(url, workers=1, pool_size=args.pool_size, env=bench_env(args.pool_size)) as base,
    ):

        async def call(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post(
                f"{base}/graphql", json={"query": DASHBOARD, "variables": variables}, headers=headers
            )

        result = asyncio.run(run_load(call, concurrency=args.concurrency, seconds=args.seconds))

    print_table(
        f"Dashboard query, {args.first} campaigns (bench scale)",
        [
            ("uvicorn workers", "1"),
            ("DB pool per worker", f"{args.pool_size} (+ overflow)"),
            ("client concurrency", str(args.concurrency)),
            ("duration", f"{result.seconds:.1f} s"),
            ("requests", str(result.requests)),
            ("errors", str(result.errors)),
            ("SQL statements / request", f"{median(result.sql_statements):g}"),
            ("latency p50", f"{result.percentile(50):.1f} ms"),
            ("latency p95", f"{result.percentile(95):.1f} ms"),
            ("requests / second", f"{result.rps:.1f}"),
        ],
    )


if __name__ == "__main__":
    main()
