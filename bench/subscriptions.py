"""Subscriptions over WebSocket against a bare relay: the memory of idle subscribers and the latency of
one event's delivery to all of them (issue 12, part 5).

    .venv/bin/python -m bench.subscriptions [--subscribers 1000,5000] [--rounds 20] [--client-processes 1]
        [--event-cost-percent N] [--database-url URL --redis-url URL --redis-prefix P]

Two servers at once, each one uvicorn process (one worker) on the same machine, PostgreSQL and Redis:
- ours (`server:create_app`, APP_ENV=production, the budget of bench/harness.py's UNLIMITED_BUDGET so
  no subscriber is refused, WS_MAX_CONNECTIONS_PER_IP raised above the largest level: every client
  comes from 127.0.0.1); subscribers speak graphql-transport-ws, subscribe to
  campaignStatusChanged on one campaign, and answer pings (bench/ws_clients.py). They are admins,
  marketers, analysts and the campaign's merchant's staff in turn, each with a user id of its own:
  four viewer scopes, so four shared streams whatever their number;
- the relay (bench/relay.py): one Redis pub/sub channel sent to every socket, no GraphQL.
--client-processes swarm processes per server hold the sockets (bench/ws_clients.py).

1. Memory: the worker's RSS when started, then with each level of subscribers open and idle.
2. Latency, at the first level, --rounds rounds per server, alternating: ours, a pauseCampaign or
   startCampaign over HTTP (admin) and each subscriber's receipt of the event, timed from the
   campaign's `updatedAt` in the event (PostgreSQL's now(): the transaction's start, before the
   commit: an upper bound of commit -> delivery), from when this process heard the change on the
   feed's channel (after the commit: a lower bound) and from the HTTP answer; the relay, from its
   PUBLISH to receipt. One round is one event to every subscriber, so its receipts are not
   independent: the pooled p99 of few rounds is about the worst round's; each round's own p99 is
   printed too (median, worst). And each server's CPU time per round. WARMUP_ROUNDS go first,
   uncounted.
Uses a `swipesavvy_bench_ws` database (migrated; one merchant, one running campaign, one admin,
created the first time) on DATABASE_URL's server or the embedded one; REDIS_URL or an embedded
Redis. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from strawberry import relay as relay_ids

from bench import subscriptions_report as report
from bench.harness import UNLIMITED_BUDGET, LiveProcess, live_app
from bench.procstat import cpu_seconds, machine_load, memory_kib, settle
from bench.subscription_rounds import WARMUP_ROUNDS, Figures, Rounds
from bench.subscription_rows import Rows, ensure_rows
from bench.ws_clients import SwarmProcess
from core import database_admin as databases
from core import migrate
from core.embedded import EmbeddedServices
from core.settings import Settings
from core.urls import redact, with_database

DATABASE = "swipesavvy_bench_ws"
PAUSE_S = (0.2, 0.5)  # between rounds, at random


@contextmanager
def _services(settings: Settings, args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """The database's URL (the bench's own, created and migrated, unless --database-url) and Redis's."""
    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    redis_dir = tempfile.mkdtemp(prefix="ss-bench-ws-redis-")
    try:
        url = args.database_url
        if url is None:
            server_url = settings.database_url or embedded.start_postgres()
            if not asyncio.run(databases.database_exists(server_url, DATABASE)):
                asyncio.run(databases.create_database(server_url, DATABASE))
            url = with_database(server_url, DATABASE)
            migrate.upgrade(url)
        redis_url = args.redis_url or settings.redis_url
        if not redis_url:
            embedded.data_dir = Path(redis_dir)
            redis_url = embedded.start_redis()
        print(f"database: {redact(url)}", file=sys.stderr)
        yield url, redis_url
    finally:
        embedded.stop()


def _levels(text: str) -> list[int]:
    levels = sorted({int(part) for part in text.split(",") if part.strip()})
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError("levels are positive numbers of subscribers, comma-separated")
    return levels


def _split(count: int, parts: int) -> list[int]:
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


async def _open(swarms: list[SwarmProcess], count: int) -> int:
    """Open `count` more subscribers across the swarms; the number that failed so far."""
    answers = await asyncio.gather(
        *(s.ask({"open": n}) for s, n in zip(swarms, _split(count, len(swarms)), strict=True))
    )
    return sum(a["failed"] for a in answers)


async def _measure(
    args: argparse.Namespace, rows: Rows, server: LiveProcess, relay: LiveProcess, redis_url: str, secret: str
) -> tuple[dict[str, Figures], dict[str, int]]:
    figures = {"server": Figures(), "relay": Figures()}
    pids = {"server": server.pid, "relay": relay.pid}
    for name, pid in pids.items():
        await asyncio.to_thread(settle, pid)
        figures[name].rss_kib[0] = memory_kib(pid, "VmRSS")
    ws = {
        "server": server.base.replace("http://", "ws://") + "/graphql",
        "relay": relay.base.replace("http://", "ws://") + "/ws",
    }
    swarms = {
        "server": [
            await SwarmProcess.start(
                "graphql",
                ws["server"],
                relay_ids.to_base64("Campaign", rows.campaign_id),
                rows.merchant_id,
                i * 1_000_000,
                secret=secret,
                compression=args.compression,
            )  # fmt: skip
            for i in range(args.client_processes)
        ],
        "relay": [
            await SwarmProcess.start("relay", ws["relay"], compression=args.compression)
            for _ in range(args.client_processes)
        ],
    }
    failed = {"server": 0, "relay": 0}
    rounds = Rounds(args, rows, server, redis_url, secret)
    try:
        opened = 0
        for level in args.subscribers:
            for name in ("relay", "server"):
                failed[name] = await _open(swarms[name], level - opened)
                await asyncio.to_thread(settle, pids[name])
                figures[name].rss_kib[level] = memory_kib(pids[name], "VmRSS")
            opened = level
            if level == args.subscribers[0]:
                async with httpx.AsyncClient(timeout=30) as http:
                    for number in range(1 - WARMUP_ROUNDS, args.rounds + 1):
                        for name in ("relay", "server"):
                            counted = figures[name] if number > 0 else Figures()
                            before = cpu_seconds(pids[name])
                            if name == "relay":
                                await rounds.relay_round(swarms[name], number, counted)
                            else:
                                await rounds.server_round(swarms[name], number, counted, http)
                            counted.cpu_ms.append((cpu_seconds(pids[name]) - before) * 1000)
                            await asyncio.sleep(random.uniform(*PAUSE_S))
    finally:
        await asyncio.gather(*(s.stop() for group in swarms.values() for s in group))
        await rounds.redis.aclose()
    return figures, failed


def main(argv: list[str] | None = None) -> tuple[dict[str, Figures], dict[str, int]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--subscribers", type=_levels, default=_levels("1000,5000"), help="levels, comma-separated"
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="latency rounds per server, at the first level"
    )
    parser.add_argument("--client-processes", type=int, default=1, help="swarm processes per server")
    parser.add_argument(
        "--compression", action="store_true", help="clients offer permessage-deflate, as browsers do"
    )
    parser.add_argument(
        "--event-cost-percent", type=int, help="SUBSCRIPTION_EVENT_COST_PERCENT (default: the setting's)"
    )
    parser.add_argument("--database-url", help="a migrated database to use instead of the bench's own")
    parser.add_argument("--redis-url")
    parser.add_argument("--redis-prefix", default="bench-ws:")
    args = parser.parse_args(argv)
    settings = Settings()
    secret = secrets.token_urlsafe(32)
    env = {
        **UNLIMITED_BUDGET,
        "APP_ENV": "production",
        "JWT_SECRET": secret,
        "REDIS_KEY_PREFIX": args.redis_prefix,
        "WS_MAX_CONNECTIONS_PER_IP": str(args.subscribers[-1] + 100),
    }
    if args.event_cost_percent is not None:
        env["SUBSCRIPTION_EVENT_COST_PERCENT"] = str(args.event_cost_percent)
    with ExitStack() as stack:
        url, redis_url = stack.enter_context(_services(settings, args))
        rows = asyncio.run(ensure_rows(url))
        load_before = machine_load()
        server = stack.enter_context(
            live_app("server:create_app", url, redis_url=redis_url, pool_size=5, env=env)
        )
        relay = stack.enter_context(
            live_app(
                "bench.relay:create_app",
                url,
                redis_url=redis_url,
                env={"RELAY_CHANNEL": f"{args.redis_prefix}relay"},
            )
        )
        figures, failed = asyncio.run(_measure(args, rows, server, relay, redis_url, secret))
        load_after = machine_load()
    report.print_report(args, env, figures, failed, load=(load_before, load_after))
    return figures, failed


if __name__ == "__main__":
    main()
