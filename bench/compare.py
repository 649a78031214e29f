"""The server against its floor (bench/floor.py) on the three bench documents.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.compare \\
        [--seconds 8] [--clients 16] [--rounds 2] [--pool-size N] [--cache] [--only NAME]

With --cache, the response cache's row (issue 11): the server answers from its response cache
(RESPONSE_CACHE=true) and the floor its `data` from one Redis GET (FLOOR_ANSWERS_FROM_REDIS), for the
two cacheable documents (query 1, the flat list); the hit ratio is that of a development-mode
server's extensions.cache over CACHE_PROBES requests of each.

Starts both, one uvicorn worker each with the same pool size (DB_POOL_SIZE) and APP_ENV=production,
pinned to one core (`taskset -c 1`); PostgreSQL, Redis and the load generator (this process) go on the
other. Checks that both answer every document with the same `data` bytes, then per document and round,
the two taking turns (their order swapped each round): a closed loop of --clients connections for
--seconds gives requests/s and the worker's CPU time per request (/proc/PID/stat), then an open loop
at half the floor's requests/s of that round gives p50/p99 latency (bench/openloop.py). SQL statements
per request come from one request each to a development-mode server (production hides the figure).
Prints figures and targets; asserts nothing. All requests come from one admin and one customer, so
the rate limit is raised for both (the same draw, never refused) and the server's per-caller share of
the pool is the whole pool, as the floor's: the bench measures work, not the budgets.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvloop

from bench import procstat
from bench.compare_report import Measure, OpenMeasure, print_report
from bench.documents import Request, bearer, requests
from bench.floor import DOCUMENTS, asyncpg_dsn
from bench.floor_answers import FLOOR_STATEMENTS
from bench.harness import UNCACHED, UNLIMITED_BUDGET, LiveProcess, bench_database, live_app
from bench.openloop import closed_loop, open_loop, request_bytes
from core.embedded import EmbeddedServices
from core.redis import create_redis
from core.settings import Settings
from core.viewer import Role

# Each request with the headers that send it.
Sent = list[tuple[Request, dict[str, str]]]
TARGETS = ("server", "floor")
FACTORIES = {"server": "server:create_app", "floor": "bench.floor:create_app"}
WARMUP_S = 1.0
CACHE_PROBES = 100
# How long the open loop waits for answers after its schedule ends; later ones count as infinite.
DRAIN_S = 5.0


def _run(coro):  # type: ignore[no-untyped-def]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


@contextmanager
def _redis(settings: Settings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    embedded = EmbeddedServices(data_dir=Path(tempfile.mkdtemp(prefix="ss-compare-redis-")), database_name="")
    try:
        yield embedded.start_redis()
    finally:
        embedded.stop()


@dataclass(frozen=True)
class Facts:
    """Who sends the requests (seeded users), and the pids to pin."""

    admin: int
    customer: int
    postmaster: int | None
    redis: int


async def _facts(url: str, redis_url: str) -> Facts:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    redis = create_redis(redis_url)
    try:
        first = "SELECT min(id) FROM users WHERE role = $1 AND deleted_at IS NULL"
        return Facts(
            admin=await conn.fetchval(first, "admin"),
            customer=await conn.fetchval(first, "customer"),
            postmaster=procstat.postmaster_pid(await conn.fetchval("SHOW data_directory")),
            redis=int((await redis.info("server"))["process_id"]),
        )
    finally:
        await conn.close()
        await redis.aclose()


def _headers(secret: str, request: Request, facts: Facts) -> dict[str, str]:
    user_id = facts.admin if request.role is Role.ADMIN else facts.customer
    return {"authorization": bearer(secret, role=request.role, user_id=user_id)}


def _post(base: str, request: Request, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json=request.body, headers=headers, timeout=30)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"{request.name}: {base} answered {response.status_code} {response.text[:500]}")
    return body  # type: ignore[no-any-return]


def _statements(url: str, redis_url: str, env: dict[str, str], pool: int, sent: Sent) -> list[int]:
    """sqlStatements of one request of each document to a development-mode server."""
    dev = {**env, "APP_ENV": "development", "SQL_STATS": "true"}
    with live_app(FACTORIES["server"], url, redis_url=redis_url, pool_size=pool, env=dev) as live:
        return [int(_post(live.base, r, h)["extensions"]["sqlStatements"]) for r, h in sent]


def _hit_ratios(url: str, redis_url: str, env: dict[str, str], pool: int, sent: Sent) -> list[float]:
    """The share of CACHE_PROBES requests of each document a development-mode server answered from
    its response cache."""
    dev = {**env, "APP_ENV": "development"}
    with live_app(FACTORIES["server"], url, redis_url=redis_url, pool_size=pool, env=dev) as live:
        return [
            sum(bool(_post(live.base, r, h)["extensions"]["cache"]["hit"]) for _ in range(CACHE_PROBES))
            / CACHE_PROBES
            for r, h in sent
        ]


def _identical(lives: dict[str, LiveProcess], sent: Sent) -> None:
    for request, headers in sent:
        server, floor = (orjson.dumps(_post(lives[t].base, request, headers)["data"]) for t in TARGETS)
        if server != floor:
            at = next(i for i, (a, b) in enumerate(zip(server, floor, strict=False)) if a != b)
            raise SystemExit(
                f"{request.name}: the floor's data differs at byte {at}:\n"
                f"server {server[at - 80 : at + 80]!r}\nfloor  {floor[at - 80 : at + 80]!r}"
            )
        print(f"  {request.name}: data identical ({len(server)} bytes)", flush=True)


def _closed(live: LiveProcess, wire: bytes, args: argparse.Namespace) -> Measure:
    _run(closed_loop(live.base + "/graphql", wire, clients=args.clients, seconds=WARMUP_S))
    before = procstat.cpu_seconds(live.pid)
    run = _run(closed_loop(live.base + "/graphql", wire, clients=args.clients, seconds=args.seconds))
    cpu = procstat.cpu_seconds(live.pid) - before
    return Measure(
        rps=run.rps, cpu_ms=1000 * cpu / max(1, run.answered), errors=run.errors, failures=run.failures
    )


def _open(live: LiveProcess, wire: bytes, rate: float, args: argparse.Namespace) -> OpenMeasure:
    before = procstat.cpu_seconds(live.pid)
    run = _run(open_loop(live.base + "/graphql", wire, rate=rate, seconds=args.seconds, drain_s=DRAIN_S))
    cpu = procstat.cpu_seconds(live.pid) - before
    return OpenMeasure(
        rate=rate,
        p50=run.percentile(50),
        p99=run.percentile(99),
        lag_p99=run.percentile(99, run.send_lag_ms),
        connections=run.connections,
        errors=run.errors,
        late=run.late,
        failures=run.failures,
        cpu_ms=1000 * cpu / max(1, run.answered),
    )


def _measure(lives: dict[str, LiveProcess], sent: Sent, args: argparse.Namespace) -> list[Any]:
    """Per document: per round, each target's closed-loop Measure and open-loop OpenMeasure."""
    results = []
    for request, headers in sent:
        rounds = []
        for number in range(1, args.rounds + 1):
            order = TARGETS if number % 2 else TARGETS[::-1]
            closed: dict[str, Measure] = {}
            opened: dict[str, OpenMeasure] = {}
            for target in order:
                wire = request_bytes(lives[target].base + "/graphql", request.body, headers)
                procstat.settle(lives[target].pid)
                print(f"  {request.name}, round {number}, {target}, throughput: {procstat.machine_load()}")
                closed[target] = _closed(lives[target], wire, args)
            rate = max(1.0, closed["floor"].rps / 2)
            for target in order:
                wire = request_bytes(lives[target].base + "/graphql", request.body, headers)
                procstat.settle(lives[target].pid)
                print(f"  {request.name}, round {number}, {target}, {rate:.0f}/s: {procstat.machine_load()}")
                opened[target] = _open(lives[target], wire, rate, args)
            rounds.append((closed, opened))
        peak = {t: procstat.memory_kib(lives[t].pid, "VmHWM") for t in TARGETS}
        results.append((request, rounds, peak))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8, help="length of each measured run")
    parser.add_argument("--clients", type=int, default=16, help="connections of the closed loop")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", action="store_true", help="answers from the response cache / Redis")
    parser.add_argument("--only", default=None, help="only the documents whose name contains this")
    parser.add_argument(
        "--pool-size", type=int, default=None, help="DB_POOL_SIZE of both (default: settings)"
    )
    parser.add_argument("--server-cpu", type=int, default=1, help="the core of the server and the floor")
    parser.add_argument(
        "--load-cpu", type=int, default=0, help="the core of PostgreSQL, Redis, the generator"
    )
    args = parser.parse_args()
    settings = Settings()
    pool = args.pool_size or settings.db_pool_size
    today = dt.datetime.now(dt.UTC).date()
    secret = secrets.token_urlsafe(48)
    env = {
        "JWT_SECRET": secret,
        # A fresh key space, and a budget no run exhausts: both still draw the same cost each request.
        "REDIS_KEY_PREFIX": f"bench-compare-{uuid.uuid4().hex[:8]}:",
        **UNLIMITED_BUDGET,
        **({"RESPONSE_CACHE": "true", "FLOOR_ANSWERS_FROM_REDIS": "true"} if args.cache else UNCACHED),
        # All the load is one identity's: its share of the pool is the whole pool, as the floor's is.
        "DB_CONNECTIONS_PER_CALLER": str(pool),
    }
    with ExitStack() as stack:
        url = stack.enter_context(bench_database(settings))
        redis_url = stack.enter_context(_redis(settings))
        facts = _run(_facts(url, redis_url))
        sent = [(r, _headers(secret, r, facts)) for r in requests(today)]
        if args.cache:
            sent = sent[:2]  # evaluateFlags has no cache hint: its freshness is the flag snapshot's
        if args.only:
            sent = [(r, h) for r, h in sent if args.only in r.name]
        print("SQL statements per request (development-mode server):", flush=True)
        statements = _statements(url, redis_url, env, pool, sent)
        hit_ratios = _hit_ratios(url, redis_url, env, pool, sent) if args.cache else None
        production = {**env, "APP_ENV": "production", "NOTIFIER_LOG_IN_PRODUCTION": "true"}
        lives = {
            t: stack.enter_context(
                live_app(
                    FACTORIES[t],
                    url,
                    redis_url=redis_url,
                    pool_size=pool,
                    env=production,
                    cpus=str(args.server_cpu),
                )
            )
            for t in TARGETS
        }
        print("Answers:", flush=True)
        _identical(lives, sent)
        infrastructure = [p for p in (facts.postmaster, facts.redis) if p is not None]
        backends = [c for p in infrastructure for c in procstat.children(p)]
        pinned = procstat.Pinning.pin([*infrastructure, *backends, os.getpid()], {args.load_cpu})
        print(
            f"Pinned: server and floor to cpu {args.server_cpu}; PostgreSQL (postmaster"
            f" {facts.postmaster}, {len(backends)} children), Redis ({facts.redis}) and the generator"
            f" to cpu {args.load_cpu}"
        )
        try:
            results = _measure(lives, sent, args)
        finally:
            pinned.restore(also=[c for p in infrastructure for c in procstat.children(p)])
    header = {
        "uvicorn workers": "1 each (no --workers flag; the measured pid is the worker)",
        "DB pool": f"{pool} each (the server's SQLAlchemy pool may overflow by {settings.db_max_overflow};"
        f" one caller may hold all {pool})",
        "clients (closed loop)": str(args.clients),
        "rounds": f"{args.rounds} (order swapped each round)",
        "seconds per run": f"{args.seconds:g}",
        "offered rate (open loop)": "half the floor's closed-loop requests/s of the same round;"
        f" latency from the scheduled send (inf: unanswered {DRAIN_S:g} s after the schedule ended)",
        "cores": f"server/floor cpu {args.server_cpu}; PostgreSQL, Redis, generator cpu {args.load_cpu}",
    }
    print_report(
        header,
        results,
        statements,
        [FLOOR_STATEMENTS[DOCUMENTS[r.body["query"]][0].__name__] for r, _ in sent],
        hit_ratios,
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
