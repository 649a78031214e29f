"""What the drain tests share: `serve` as an operator runs it (a process to signal), requests held in
flight by a table lock the test holds, and real WebSocket clients of both protocols."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from core.settings import PROJECT_ROOT
from tests.jobs.support import dsn, fetch, wait_until
from tests.support import child_environment
from tests.transport.conftest import free_port, wait_up
from tests.transport.ws.world import STATUS, ws_url

# Never asserted as a speed: how long a bounded wait may take on a loaded machine before it fails.
WAIT_S = 60.0
SLOW = "{ merchantCategories { name } }"
# The request's read waits for the test's ACCESS EXCLUSIVE lock: in flight for as long as the test says.
LOCKED_TABLE = "merchant_categories"
WAITING_ON_LOCKS = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(database_url: str, redis_url: str, log: Path, *args: str, **env: str) -> Iterator[Served]:
    """`python server.py serve` on its own port; killed at the end if the test left it running."""
    port = free_port()
    environment = child_environment(
        **{
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SEED_DEMO_ON_START": "false",
            "JOB_WORKER_IN_SERVER": "false",
            # The held requests are one caller's (127.0.0.1, anonymous) and must not queue for the pool,
            # nor be answered from the response cache without reading the locked table.
            "DB_CONNECTIONS_PER_CALLER": "50",
            "DB_CONNECTIONS_ANONYMOUS": "50",
            "RESPONSE_CACHE": "false",
            "DB_STATEMENT_TIMEOUT_MS": "120000",
            "DB_ANONYMOUS_STATEMENT_TIMEOUT_MS": "0",
            "REQUEST_TIMEOUT_S": "120",
            **env,
        }
    )
    command = [sys.executable, "server.py", "serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *args], cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=out
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_up(process, served.base, log, deadline=time.monotonic() + WAIT_S, path="/readyz")
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def table_locked(database_url: str) -> AsyncIterator[None]:
    """Every read of LOCKED_TABLE waits while the block runs."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"LOCK TABLE {LOCKED_TABLE} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def wait_for_waiting_reads(database_url: str, count: int) -> None:
    """Until `count` backends wait on the test's lock: that many requests are in flight."""

    async def waiting() -> bool:
        rows = await fetch(database_url, WAITING_ON_LOCKS)
        return int(rows[0][0]) >= count

    await wait_until(waiting, what=f"{count} requests never reached the locked table")


async def slow_request(base: str) -> httpx.Response:
    """One request on a connection of its own, answered once the lock is released."""
    async with httpx.AsyncClient(timeout=WAIT_S) as client:
        return await client.post(f"{base}/graphql", json={"query": SLOW})


async def refused(base: str) -> None:
    """Until a new connection is refused (the listener is closed); anything answered meanwhile is 200."""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(f"{base}/healthz")
            except httpx.ConnectError:
                return
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.05)


def stop(served: Served, sig: signal.Signals = signal.SIGTERM) -> None:
    served.process.send_signal(sig)


async def exit_code(served: Served) -> int:
    return await asyncio.to_thread(served.process.wait, WAIT_S)


@contextlib.asynccontextmanager
async def subscribed(base: str, bearer: str, campaign: str, protocol: str) -> AsyncIterator[ClientConnection]:
    """A real `websockets` client subscribed to campaignStatusChanged, its first event received."""
    legacy = protocol == "graphql-ws"
    async with websockets.connect(ws_url(base), subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload: dict[str, Any] = {"query": STATUS, "variables": {"id": campaign}}
        await ws.send(json.dumps({"id": "1", "type": "start" if legacy else "subscribe", "payload": payload}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] in ("data", "next"):
                break
            assert message["type"] == "ka", message
        yield ws


async def close_of(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read until the server closes: its close code and reason."""
    async with asyncio.timeout(WAIT_S):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason
