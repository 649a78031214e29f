"""assignVariant at bench scale against one uvicorn worker: first assignments of distinct users (the
INSERT ... ON CONFLICT path), then the same users again (the sticky answer, read back).

    .venv/bin/python -m bench.assign [--concurrency 16] [--seconds 15] [--pool-size 10]

Seeds a `swipesavvy_bench` database at bench scale the first time (minutes), then reuses it. Creates
and starts a 50/50 experiment `bench-assign` through the API if it is missing, and empties its
assignments before each run, so every first-phase request assigns a user never assigned before.
The seed's target is 1,000 assignments per second.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from datetime import timedelta

import httpx
from sqlalchemy import delete, func, select
from strawberry import relay

from bench.harness import LoadResult, bench_database, bench_env, live_server, median, print_table, run_load
from core.database import create_engine
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.experiments import Experiment, ExperimentAssignment
from models.users import User

KEY = "bench-assign"
WARMUP = 20  # run_load's default warm-up calls, which assign users too
ASSIGN = """
mutation Assign($input: AssignVariantInput!) {
  assignVariant(input: $input) { assignment { variantKey assignedAt } userErrors { code } }
}
"""
CREATE = """
mutation Create($input: CreateExperimentInput!) {
  createExperiment(input: $input) { experiment { id } userErrors { field message } }
}
"""
START = "mutation Start($id: ID!) { startExperiment(input: {id: $id}) { userErrors { field message } } }"
ARMS = [
    {"key": "control", "name": "Control", "weight": 500, "isControl": True},
    {"key": "treatment", "name": "Treatment", "weight": 500},
]


def _token(settings: Settings, role: Role, user_id: int | None) -> dict[str, str]:
    token = mint_access_token(
        secret=signing_secret(settings), user_id=user_id, role=role, ttl=timedelta(hours=1)
    )
    return {"authorization": f"Bearer {token}"}


async def _prepare(url: str, settings: Settings) -> tuple[int | None, list[int]]:
    """The bench experiment's id (None: create it), emptied of assignments, and the customers' ids."""
    engine = create_engine(url, settings, pool_size=1)
    try:
        async with engine.begin() as conn:
            row = (
                await conn.execute(select(Experiment.id, Experiment.status).where(Experiment.key == KEY))
            ).first()
            if row is not None:
                if row.status != "running":
                    raise SystemExit(f"experiment {KEY} is {row.status}; it must be running")
                await conn.execute(delete(ExperimentAssignment).where(ExperimentAssignment.test_id == row.id))
            users = await conn.scalars(
                select(User.id).where(User.role == "customer", User.deleted_at.is_(None)).order_by(User.id)
            )
            return (None if row is None else row.id), list(users)
    finally:
        await engine.dispose()


async def _count_assignments(url: str, settings: Settings, test_id: int) -> int:
    engine = create_engine(url, settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).where(ExperimentAssignment.test_id == test_id)
            return int(await conn.scalar(query) or 0)
    finally:
        await engine.dispose()


def _create(base: str, headers: dict[str, str]) -> int:
    """Create and start the bench experiment through the API; returns its database id."""
    variables = {"input": {"key": KEY, "name": "Bench: assignment throughput", "variants": ARMS}}
    body = httpx.post(
        f"{base}/graphql", json={"query": CREATE, "variables": variables}, headers=headers
    ).json()
    payload = body["data"]["createExperiment"]
    if payload["userErrors"]:
        raise SystemExit(f"createExperiment: {payload['userErrors']}")
    experiment_id = payload["experiment"]["id"]
    body = httpx.post(
        f"{base}/graphql", json={"query": START, "variables": {"id": experiment_id}}, headers=headers
    ).json()
    if body["data"]["startExperiment"]["userErrors"]:
        raise SystemExit(f"startExperiment: {body['data']['startExperiment']['userErrors']}")
    return int(relay.GlobalID.from_id(experiment_id).node_id)


def _rows(result: LoadResult) -> list[tuple[str, str]]:
    return [
        ("duration", f"{result.seconds:.1f} s"),
        ("requests", str(result.requests)),
        ("errors", str(result.errors)),
        ("SQL statements / request", f"{median(result.sql_statements):g}"),
        ("latency p50", f"{result.percentile(50):.1f} ms"),
        ("latency p95", f"{result.percentile(95):.1f} ms"),
        ("assignments / second", f"{result.rps:.1f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()

    settings = Settings()
    service = _token(settings, Role.SERVICE, None)
    admin = _token(settings, Role.ADMIN, 1)

    with bench_database(settings) as url:
        test_id, customers = asyncio.run(_prepare(url, settings))
        with live_server(url, workers=1, pool_size=args.pool_size, env=bench_env(args.pool_size)) as base:
            if test_id is None:
                test_id = _create(base, admin)
            user_ids = [relay.to_base64("User", u) for u in customers]
            # Distinct users while they last; with more requests than customers they repeat (and say so).
            order = itertools.cycle(user_ids)

            async def call(client: httpx.AsyncClient) -> httpx.Response:
                variables = {"input": {"experimentKey": KEY, "userId": next(order)}}
                return await client.post(
                    f"{base}/graphql", json={"query": ASSIGN, "variables": variables}, headers=service
                )

            first = asyncio.run(run_load(call, concurrency=args.concurrency, seconds=args.seconds))
            assigned = asyncio.run(_count_assignments(url, settings, test_id))
            # The same users again, from the first: every answer is a stored assignment.
            order = itertools.cycle(user_ids[:assigned])
            again = asyncio.run(run_load(call, concurrency=args.concurrency, seconds=args.seconds))

    setup = [
        ("uvicorn workers", "1"),
        ("DB pool per worker", f"{args.pool_size} (+ overflow)"),
        ("client concurrency", str(args.concurrency)),
        ("customers available", f"{len(customers):,}"),
        ("first-phase requests (with warm-up)", f"{first.requests + WARMUP:,}"),
        ("assignments stored", f"{assigned:,} (one per distinct user)"),
    ]
    print_table("assignVariant, bench scale: setup", setup)
    print_table("First assignment of distinct users (INSERT ... ON CONFLICT DO NOTHING)", _rows(first))
    print_table("The same users again (sticky: the stored assignment)", _rows(again))


if __name__ == "__main__":
    main()
