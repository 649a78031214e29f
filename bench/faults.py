"""The fault harness (issue 14): a mixed load against two uvicorn workers on a PostgreSQL and a Redis
of its own, while it injects in turn: Redis SIGKILL (restarted after a while), Redis frozen
(SIGSTOP, then SIGCONT), PostgreSQL restarted fast and immediate, PostgreSQL down for 15 s, one
worker SIGKILLed (uvicorn's supervisor starts another).

    .venv/bin/python -m bench.faults [--readers 4] [--writers 2] [--hold 5] [--down 15] [--only a,b]

Per fault: requests, failures by GraphQL code, HTTP statuses, p50/p99 while it lasted, recovery time
(from its end to the first of 10 successes in a row); first two baselines with no fault, the response
cache on and off (the Redis-down target is p50 at most 2x the cache-off one). At the end: events and
redemptions acknowledged against stored (lost, duplicated) and the balance invariant in SQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bench.fault_data import World, check, create_world
from bench.fault_load import Actors, Ledger, run_load
from bench.fault_report import Window, print_rows, print_writes, row
from bench.fault_servers import (
    PostgresCluster,
    RedisProcess,
    api_workers,
    job_worker,
    postgres_cluster,
    redis_process,
)
from bench.harness import bench_env
from bench.procstat import children
from core.settings import Settings
from core.tokens import mint_access_token
from core.viewer import Role

SETTLE_S = 4.0
POOL_SIZE = 10


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[], None]
    hold_s: float
    heal: Callable[[], None] = _nothing


def _kill_a_worker(supervisor: int) -> None:
    workers = children(supervisor)
    if workers:
        os.kill(workers[0], signal.SIGKILL)


def faults(
    pg: PostgresCluster, redis: RedisProcess, supervisor: int, *, hold: float, down: float
) -> list[Fault]:
    return [
        Fault("no fault (cache on)", _nothing, hold),
        Fault("redis SIGKILL, restart", redis.kill, hold, redis.start),
        Fault("redis frozen (SIGSTOP)", redis.freeze, hold, redis.thaw),
        Fault("postgres restart -m fast", lambda: pg.restart("fast"), 0),
        Fault("postgres restart -m immediate", lambda: pg.restart("immediate"), 0),
        Fault(f"postgres down {down:.0f}s", lambda: pg.stop("fast"), down, pg.start),
        Fault("worker SIGKILL", lambda: _kill_a_worker(supervisor), 0),
    ]


async def _run(
    actors: Actors, schedule: list[Fault], *, readers: int, writers: int
) -> tuple[Ledger, list[Window]]:
    ledger, stop, windows = Ledger(), asyncio.Event(), []

    async def inject() -> None:
        await asyncio.sleep(2)  # the pools warm
        for fault in schedule:
            start = time.monotonic()
            await asyncio.to_thread(fault.inject)
            await asyncio.sleep(fault.hold_s)
            await asyncio.to_thread(fault.heal)
            end = time.monotonic()
            await asyncio.sleep(SETTLE_S)
            windows.append(Window(fault.name, start, end, time.monotonic()))
        stop.set()

    await asyncio.gather(inject(), run_load(actors, ledger, stop, readers=readers, writers=writers))
    return ledger, windows


def _actors(base: str, world: World, secret: str) -> Actors:
    def token(user_id: int | None, role: Role) -> str:
        return mint_access_token(secret=secret, user_id=user_id, role=role, ttl=timedelta(hours=2))

    return Actors(
        base=base,
        admin=token(world.admin_id, Role.ADMIN),
        service=token(None, Role.SERVICE),
        customers={u: token(u, Role.CUSTOMER) for u in world.customer_ids},
        campaign_ids=world.campaign_ids,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--readers", type=int, default=4, help="clients alternating dashboard and evaluateFlags"
    )
    parser.add_argument("--writers", type=int, default=2, help="ingestion clients (and up to 2 redeeming)")
    parser.add_argument("--hold", type=float, default=5, help="seconds a Redis fault and a baseline last")
    parser.add_argument("--down", type=float, default=15, help="seconds PostgreSQL stays down")
    parser.add_argument("--only", default="", help="comma-separated words: run the faults whose name has one")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cpus")
    secret = secrets.token_urlsafe(32)
    env = {
        **bench_env(POOL_SIZE),
        "APP_ENV": "production",
        "JWT_SECRET": secret,
        "NOTIFIER_LOG_IN_PRODUCTION": "true",
        "LOG_LEVEL": os.environ.get("FAULTS_LOG_LEVEL", "ERROR"),
        "SEED_DEMO_ON_START": "false",
    }
    settings = Settings(jwt_secret=secret)
    ledgers, rows = [], []
    with postgres_cluster() as pg, redis_process() as redis:
        world = asyncio.run(create_world(pg.server_url, settings))
        env |= {"DATABASE_URL": world.url, "REDIS_URL": redis.url, "DB_POOL_SIZE": str(POOL_SIZE)}
        with job_worker(env):
            with api_workers({**env, "RESPONSE_CACHE": "false"}) as (base, _):
                baseline = [Fault("no fault (cache off)", _nothing, args.hold)]
                ledger, windows = asyncio.run(
                    _run(_actors(base, world, secret), baseline, readers=args.readers, writers=args.writers)
                )
                ledgers.append(ledger)
                rows += [row(w, ledger.samples) for w in windows]
            with api_workers({**env, "RESPONSE_CACHE": "true"}) as (base, supervisor):
                schedule = faults(pg, redis, supervisor, hold=args.hold, down=args.down)
                if args.only:
                    words = args.only.split(",")
                    schedule = [f for f in schedule if any(w in f.name for w in words)]
                ledger, windows = asyncio.run(
                    _run(_actors(base, world, secret), schedule, readers=args.readers, writers=args.writers)
                )
                ledgers.append(ledger)
                rows += [row(w, ledger.samples) for w in windows]
            checks = asyncio.run(check(world, settings))
    total = Ledger()
    for each in ledgers:
        total.events += each.events
        total.redemptions.update(each.redemptions)
        total.unacknowledged += each.unacknowledged
    print(
        f"\nfaults: {args.readers} readers, {args.writers} writers, 2 uvicorn workers, pool {POOL_SIZE} each"
    )
    print_rows(rows)
    print_writes(total, checks)


if __name__ == "__main__":
    main()
