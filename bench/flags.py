"""The live flag snapshot: evaluations per second in process, and how fast a flag change reaches a
second worker.

    .venv/bin/python -m bench.flags [--seconds 3] [--rounds 3] [--toggles 100] [--clients 4]

Uses a `swipesavvy_bench_flags` database (migrated, demo seed: the ten reference flags and their
rollouts, as at bench scale), created the first time; DATABASE_URL / REDIS_URL name the servers, else
the embedded ones are started.

1. In process, no HTTP: a LiveFlags loaded from that database; `evaluate` of every flag for one
   context (a customer of segment "platinum", what the mobile app sends), the path evaluateFlags
   takes, counting included, in a loop for --seconds, --rounds times. Then the same through the whole
   GraphQL schema (`schema.execute`, one request per call). Target: >= 10,000 evaluations of every
   flag for one context per second.
2. Propagation: two uvicorn servers (one worker each) on the database and one Redis. --toggles times,
   toggleFlag through the first server's API while a client polls evaluateFlags on the second in a
   loop (one request at a time); the figure is from sending the toggle to the second server's first
   answer with the new value (it includes the mutation, so it is an upper bound). --clients more
   clients load the second server with evaluateFlags meanwhile. Then again with the second server on
   another REDIS_KEY_PREFIX, so it hears no announcement and only its version poll (every
   FLAG_SNAPSHOT_POLL_S) finds the change: the safety net's figure. Target: p99 < 1 s.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import asyncpg
import httpx

from bench.documents import APP_CONTEXT, EVALUATE_FLAGS, bearer
from bench.floor import asyncpg_dsn
from bench.harness import UNLIMITED_BUDGET, live_app, print_table
from core import database_admin as databases
from core import migrate
from core.context import RequestContext
from core.embedded import EmbeddedServices
from core.redis import create_redis
from core.services import Services
from core.settings import Settings
from core.tokens import signing_secret
from core.urls import redact, with_database
from core.viewer import Role, Viewer
from resolvers.flags.live_flags import LiveFlags

DATABASE = "swipesavvy_bench_flags"
FLAG = "bench_propagation"
STICKINESS = "4242"  # a customer's user id, as evaluation hashes it
TOGGLE = """
mutation ($on: Boolean!) {
  toggleFlag(input: {key: "bench_propagation", enabled: $on, reason: "bench"}) { userErrors { code } }
}
"""
ONE_FLAG = {
    "query": 'query { evaluateFlags(context: {sessionId: "poll"}, keys: ["bench_propagation"]) { value } }'
}
PAUSE_S = 0.05  # between toggles, so one change's propagation is over before the next starts


@contextmanager
def _servers(settings: Settings) -> Iterator[tuple[str, str]]:
    """The bench database's URL and a Redis URL (embedded ones when the settings name none)."""
    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    redis_dir = tempfile.mkdtemp(prefix="ss-bench-flags-redis-")
    try:
        server_url = settings.database_url or embedded.start_postgres()
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            embedded.data_dir = Path(redis_dir)
            redis_url = embedded.start_redis()
        if not asyncio.run(databases.database_exists(server_url, DATABASE)):
            asyncio.run(databases.create_database(server_url, DATABASE))
        url = with_database(server_url, DATABASE)
        migrate.upgrade(url)
        asyncio.run(_seeded(url))
        print(f"database: {redact(url)}", file=sys.stderr)
        yield url, redis_url
    finally:
        embedded.stop()


async def _seeded(url: str) -> None:
    import seed

    try:
        await seed.load(database_url=url, scale="demo", progress=False)
    except seed.SeedRefused:
        pass
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO feature_flags (key, name, category, enabled) VALUES ($1, 'Bench', 'ui', false)"
            " ON CONFLICT (key) DO NOTHING",
            FLAG,
        )
    finally:
        await conn.close()


async def _admin(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(
            await conn.fetchval("SELECT min(id) FROM users WHERE role = 'admin' AND deleted_at IS NULL")
        )
    finally:
        await conn.close()


# ---------------------------------------------------------------- 1. in process


async def _in_process(settings: Settings, seconds: float, rounds: int) -> list[tuple[str, str]]:
    from schema import schema

    redis = create_redis(settings.redis_url or "")
    flags = LiveFlags(settings=settings, redis=redis)
    await flags.reload()
    snapshot = flags.current
    assert snapshot is not None
    rows = [("flags in the snapshot", str(len(snapshot.flags)))]
    for number in range(1, rounds + 1):
        done, stop = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < stop:
            for _ in range(100):
                flags.evaluate(snapshot, keys=None, segment=APP_CONTEXT["segment"], stickiness=STICKINESS)
            done += 100
        rate = done / (time.perf_counter() - started)
        rows.append(
            (
                f"round {number}: evaluations of every flag / s",
                f"{rate:,.0f} ({rate * len(snapshot.flags):,.0f} flags/s)",
            )
        )
    services = Services(flags=flags)
    viewer = Viewer(role=Role.CUSTOMER, user_id=int(STICKINESS))
    variables = {"context": APP_CONTEXT}
    for number in range(1, rounds + 1):
        done, stop = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < stop:
            context = RequestContext(
                request=None,
                settings=settings,
                sessionmaker=None,
                redis=None,
                viewer=viewer,
                services=services,
            )
            result = await schema.execute(EVALUATE_FLAGS, variable_values=variables, context_value=context)
            assert result.errors is None, result.errors
            done += 1
        rate = done / (time.perf_counter() - started)
        rows.append((f"round {number}: schema.execute(evaluateFlags) / s", f"{rate:,.0f}"))
    flags.counts.take()  # the bench's evaluations are not usage
    await flags.stop()
    await redis.aclose()
    return rows


# ---------------------------------------------------------------- 2. propagation


async def _load(client: httpx.AsyncClient, base: str, headers: dict[str, str], stop: asyncio.Event) -> int:
    body = {"query": EVALUATE_FLAGS, "variables": {"context": APP_CONTEXT}}
    sent = 0
    while not stop.is_set():
        await client.post(f"{base}/graphql", json=body, headers=headers)
        sent += 1
    return sent


async def _value(client: httpx.AsyncClient, base: str) -> bool:
    response = await client.post(f"{base}/graphql", json=ONE_FLAG)
    return bool(response.json()["data"]["evaluateFlags"][0]["value"])


async def _seen(client: httpx.AsyncClient, base: str, wanted: bool) -> float:
    """When the server first answers `wanted` (perf_counter), asking one request at a time."""
    while await _value(client, base) != wanted:
        pass
    return time.perf_counter()


async def _propagation(  # type: ignore[no-untyped-def]
    first: str, second: str, admin: dict[str, str], customer: dict[str, str], args, spread_s: float
) -> tuple[list[float], list[float]]:
    """Per toggle: seconds from sending it, and from its answer, to the second server's new answer.
    Toggles are up to `spread_s` apart at random, so they land anywhere in the second's poll cycle."""
    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        state = await _value(client, first)
        stop = asyncio.Event()
        loads = [asyncio.create_task(_load(client, second, customer, stop)) for _ in range(args.clients)]
        from_sent: list[float] = []
        from_answer: list[float] = []
        try:
            for _ in range(args.toggles):
                state = not state
                started = time.perf_counter()
                watcher = asyncio.create_task(_seen(client, second, state))
                answer = await client.post(
                    f"{first}/graphql", json={"query": TOGGLE, "variables": {"on": state}}, headers=admin
                )
                answered = time.perf_counter()
                assert answer.json()["data"]["toggleFlag"]["userErrors"] == [], answer.text
                seen_at = await asyncio.wait_for(watcher, timeout=30)
                from_sent.append(seen_at - started)
                from_answer.append(max(0.0, seen_at - answered))
                await asyncio.sleep(PAUSE_S + random.uniform(0, spread_s))
        finally:
            stop.set()
            await asyncio.gather(*loads)
    return from_sent, from_answer


def _figures(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
        f" max {ordered[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="per in-process round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--toggles", type=int, default=100, help="per propagation round (poll only: a fifth)")
    parser.add_argument("--clients", type=int, default=4, help="evaluateFlags load on the second server")
    args = parser.parse_args()
    settings = Settings()

    with _servers(settings) as (url, redis_url):
        local = settings.model_copy(update={"database_url": url, "redis_url": redis_url})
        in_process = asyncio.run(_in_process(local, args.seconds, args.rounds))
        secret = signing_secret(local)
        admin = {"authorization": bearer(secret, role=Role.ADMIN, user_id=asyncio.run(_admin(url)))}
        customer = {"authorization": bearer(secret, role=Role.CUSTOMER, user_id=int(STICKINESS))}
        env = {**UNLIMITED_BUDGET, "JWT_SECRET": secret}
        results: list[tuple[str, str]] = []
        poll_s = local.flag_snapshot_poll_s
        for name, second_prefix, toggles, spread_s in (
            ("announced (pub/sub)", "ss:", args.toggles, 0.0),
            ("poll only (no announcement heard)", "ss-deaf:", max(1, args.toggles // 5), poll_s),
        ):
            with ExitStack() as stack:
                first = stack.enter_context(live_app("server:create_app", url, redis_url=redis_url, env=env))
                second = stack.enter_context(
                    live_app(
                        "server:create_app",
                        url,
                        redis_url=redis_url,
                        env={**env, "REDIS_KEY_PREFIX": second_prefix},
                    )
                )
                for number in range(1, args.rounds + 1):
                    round_args = argparse.Namespace(**{**vars(args), "toggles": toggles})
                    sent, answered = asyncio.run(
                        _propagation(first.base, second.base, admin, customer, round_args, spread_s)
                    )
                    results.append((f"{name}, round {number}, {toggles} toggles: from sent", _figures(sent)))
                    results.append(
                        (f"{name}, round {number}, {toggles} toggles: from answer", _figures(answered))
                    )

    print_table(
        "Setup",
        [
            ("in process", f"1 LiveFlags, {args.rounds} rounds of {args.seconds:g} s, one context"),
            ("propagation", f"2 uvicorn servers x 1 worker, 1 polling client + {args.clients} load clients"),
            ("poll interval (FLAG_SNAPSHOT_POLL_S)", f"{local.flag_snapshot_poll_s:g} s"),
            ("date", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ],
    )
    print_table("In process (target >= 10,000 evaluations of every flag per second)", in_process)
    print_table("Flag change: toggle sent -> second worker answers it (target p99 < 1 s)", results)


if __name__ == "__main__":
    main()
