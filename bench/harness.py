"""Shared benchmark plumbing: a bench-scale database, a live server process, a bounded load loop.

Benchmarks print figures; they assert nothing. They run on loopback only.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from core import database_admin as databases
from core import migrate
from core.embedded import EmbeddedServices
from core.settings import PROJECT_ROOT, Settings
from core.urls import redact, with_database

BENCH_DATABASE = "swipesavvy_bench"


# Settings for a benchmarked server whose requests must never be refused by the cost-based rate limit
# (each still draws its cost from Redis): with the default budget (50,000, refilling 500/s) one
# identity can send a dashboard query (cost ~20,000) only about once every 40 seconds.
UNLIMITED_BUDGET = {"RATE_LIMIT_BUCKET": str(10**12), "RATE_LIMIT_REFILL_PER_SECOND": str(10**12)}
# The same request body sent again and again would otherwise be answered by the response cache: the
# benches of the read path measure the work, and the cache's own rows turn it on explicitly.
UNCACHED = {"RESPONSE_CACHE": "false"}


def bench_env(pool_size: int) -> dict[str, str]:
    """Settings of a server measured by one client identity: a budget no run exhausts (every request
    still draws its cost) and the whole pool as that identity's share. Without them a bench measures
    the rate limit's refusals and the per-caller cap, not the work."""
    return {**UNLIMITED_BUDGET, **UNCACHED, "DB_CONNECTIONS_PER_CALLER": str(pool_size)}


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    sql_statements: list[int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


@contextmanager
def bench_database(settings: Settings) -> Iterator[str]:
    """A migrated database seeded at bench scale (seeded once; later runs reuse it)."""
    import seed

    embedded = EmbeddedServices(data_dir=settings.data_dir, database_name=settings.embedded_database_name)
    try:
        server_url = settings.database_url or embedded.start_postgres()
        if not asyncio.run(databases.database_exists(server_url, BENCH_DATABASE)):
            asyncio.run(databases.create_database(server_url, BENCH_DATABASE))
        url = with_database(server_url, BENCH_DATABASE)
        migrate.upgrade(url)
        try:
            report = asyncio.run(seed.load(database_url=url, scale="bench", progress=True))
            print(f"seeded bench scale in {report.seconds:.1f}s", file=sys.stderr)
        except seed.SeedRefused:
            pass
        print(f"database: {redact(url)}", file=sys.stderr)
        yield url
    finally:
        embedded.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveProcess:
    """A uvicorn child serving one app: its base URL and the pid of the process doing the work (with
    one worker and no --workers flag uvicorn serves in the process it started as)."""

    base: str
    pid: int


@contextmanager
def live_app(
    factory: str,
    database_url: str,
    *,
    redis_url: str | None = None,
    workers: int | None = None,
    pool_size: int = 10,
    env: dict[str, str] | None = None,
    cpus: str | None = None,
) -> Iterator[LiveProcess]:
    """uvicorn serving `factory` ("module:function") against `database_url` in a child process.

    `workers=None` passes no --workers flag (one process: the pid yielded is the worker); `cpus`
    pins the process with `taskset -c`. REDIS_URL comes from `redis_url`, else the environment,
    else an embedded Redis started for this server.
    """
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": str(pool_size),
        "SEED_DEMO_ON_START": "false",
        **(env or {}),
    }
    embedded_redis = None
    if redis_url:
        environment["REDIS_URL"] = redis_url
    elif not environment.get("REDIS_URL"):
        embedded_redis = EmbeddedServices(data_dir=PROJECT_ROOT / ".data" / "bench-redis", database_name="")
        environment["REDIS_URL"] = embedded_redis.start_redis()
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    command += ["--log-level", "warning", "--no-access-log"]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]  # taskset execs: the pid stays the server's
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode} before it was ready")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{factory} did not become ready")
        yield LiveProcess(base=base, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
        if embedded_redis is not None:
            embedded_redis.stop()


@contextmanager
def live_server(
    database_url: str, *, workers: int = 1, pool_size: int = 10, env: dict[str, str] | None = None
) -> Iterator[str]:
    """uvicorn serving the app against `database_url` in a child process; yields its base URL.
    `env` adds settings (e.g. UNLIMITED_BUDGET)."""
    with live_app("server:create_app", database_url, workers=workers, pool_size=pool_size, env=env) as live:
        yield live.base


async def run_load(
    call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    *,
    concurrency: int,
    seconds: float,
    warmup: int = 20,
) -> LoadResult:
    """`concurrency` clients calling in a loop for `seconds` (after a warm-up); bounded in time."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(warmup):
            await call(client)
        latencies: list[float] = []
        statements: list[int] = []
        errors = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await call(client)
                latencies.append((time.perf_counter() - started) * 1000)
                body = response.json()
                if response.status_code != 200 or body.get("errors"):
                    errors += 1
                statements.append(body.get("extensions", {}).get("sqlStatements", -1))

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return LoadResult(len(latencies), errors, time.perf_counter() - began, latencies, statements)


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 24))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def median(values: list[int]) -> float:
    return statistics.median(values) if values else float("nan")
