"""The client swarm of bench/subscriptions.py: one process holding many WebSocket subscribers, driven
by its parent through stdin and stdout, one JSON object a line.

    python -m bench.ws_clients graphql URL CAMPAIGN_ID MERCHANT_ID FIRST   (BENCH_WS_SECRET: the JWT secret)
    python -m bench.ws_clients relay URL

A graphql subscriber speaks graphql-transport-ws: connection_init with its own bearer token (a user
id of its own, so no per-user connection limit is reached; its role from VIEWER_MIX, whose scopes
the server's shared streams follow), then subscribes to campaignStatusChanged on the campaign and
answers the server's pings, as an idle browser tab does. A relay subscriber only connects.

Commands, and what each answers once done:
    {"open": n}     n more subscribers, each having received its first message (graphql: the
                    campaign as it is now; relay: the handshake) -> {"open": total, "failed": k}
    {"arm": r}      the next message each subscriber receives is round r's -> {"armed": r}
    {"wait": s}     every subscriber's receipt of round r (or after s seconds)
                    -> {"received": [[epoch seconds, marker], ...], "missing": k}
    {"close": 1}    -> {"closed": total}, then the process exits
The marker is what the message says of its origin: the campaign's `updatedAt` (graphql), the
publisher's text (relay). The receipt time is the wall clock when this process reads the message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from typing import Any

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from core.settings import PROJECT_ROOT
from core.tokens import mint_access_token
from core.viewer import Role

STATUS = "subscription ($id: ID!) { campaignStatusChanged(id: $id) { id status updatedAt } }"
PROTOCOL = "graphql-transport-ws"
# Four viewer scopes (schema/caching/keys.py): staff roles share one scope each, the merchant's
# staff one for their merchant. Subscriber i is VIEWER_MIX[i % 4].
VIEWER_MIX = (Role.ADMIN, Role.MARKETER, Role.ANALYST, Role.MERCHANT)
USER_BASE = 10_000_000  # synthetic user ids: with Redis up, a token's user need not exist
OPEN_CONCURRENCY = 64
HANDSHAKE_TIMEOUT_S = 30.0
PONG = '{"type":"pong"}'


class Swarm:
    def __init__(self, kind: str, url: str, args: list[str]) -> None:
        self.kind, self.url = kind, url
        if kind == "graphql":
            self.campaign, self.merchant_id, self.first = args[0], int(args[1]), int(args[2])
            self.secret = os.environ["BENCH_WS_SECRET"]
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.failed = 0
        self.armed: int | None = None
        self.receipts: dict[int, tuple[float, str]] = {}
        self.all_in = asyncio.Event()

    def _token(self, index: int) -> str:
        role = VIEWER_MIX[index % len(VIEWER_MIX)]
        return mint_access_token(
            secret=self.secret,
            user_id=USER_BASE + self.first + index,
            role=role,
            merchant_id=self.merchant_id if role is Role.MERCHANT else None,
            ttl=dt.timedelta(hours=4),
        )

    async def open(self, count: int) -> dict[str, int]:
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)
        start = len(self.sockets) + self.failed

        async def one(index: int) -> None:
            async with gate:
                try:
                    socket = await asyncio.wait_for(self._subscribe(index), HANDSHAKE_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - counted and reported, the bench goes on
                    self.failed += 1
                    print(f"subscriber {index} failed: {exc!r}", file=sys.stderr)
                    return
                number = len(self.sockets)
                self.sockets.append(socket)
                self.readers.append(asyncio.create_task(self._read(number, socket)))

        await asyncio.gather(*(one(start + i) for i in range(count)))
        return {"open": len(self.sockets), "failed": self.failed}

    async def _subscribe(self, index: int) -> ClientConnection:
        # No compression offered, no client pings: what is measured is the server's own work.
        if self.kind == "relay":
            return await connect(self.url, compression=None, ping_interval=None, max_queue=None)
        socket = await connect(
            self.url, subprotocols=[PROTOCOL], compression=None, ping_interval=None, max_queue=None
        )
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self._token(index)}"}}
        await socket.send(orjson.dumps(init).decode())
        await _expect(socket, "connection_ack")
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": STATUS, "variables": {"id": self.campaign}},
        }
        await socket.send(orjson.dumps(subscribe).decode())
        await _expect(socket, "next")
        return socket

    async def _read(self, number: int, socket: ClientConnection) -> None:
        graphql = self.kind == "graphql"
        try:
            async for text in socket:
                received = time.time()
                marker = str(text)
                if graphql:
                    message = orjson.loads(text)
                    if message.get("type") == "ping":
                        await socket.send(PONG)
                        continue
                    marker = _updated_at(message)
                if self.armed is not None and number not in self.receipts:
                    self.receipts[number] = (received, marker)
                    if len(self.receipts) >= len(self.sockets):
                        self.all_in.set()
        except Exception as exc:  # noqa: BLE001 - a closed subscriber is a missing receipt
            print(f"subscriber {number} closed: {exc!r}", file=sys.stderr)

    def arm(self, number: int) -> dict[str, int]:
        self.armed, self.receipts = number, {}
        self.all_in.clear()
        return {"armed": number}

    async def wait(self, seconds: float) -> dict[str, Any]:
        try:
            await asyncio.wait_for(self.all_in.wait(), seconds)
        except TimeoutError:
            pass
        received = list(self.receipts.values())
        self.armed = None
        return {"received": received, "missing": len(self.sockets) - len(received)}

    async def close(self) -> dict[str, int]:
        total = len(self.sockets)
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()
        return {"closed": total}


async def _expect(socket: ClientConnection, kind: str) -> None:
    while True:
        message = orjson.loads(await socket.recv())
        if message.get("type") == "ping":
            await socket.send(PONG)
        elif message.get("type") == kind:
            return
        else:
            raise RuntimeError(f"expected {kind}, got {message}")


def _updated_at(message: dict[str, Any]) -> str:
    if message.get("type") != "next":
        return f"!{message.get('type')}"
    payload = message.get("payload") or {}
    campaign = (payload.get("data") or {}).get("campaignStatusChanged")
    return str(campaign["updatedAt"]) if campaign else f"!{payload.get('errors')}"


async def serve(swarm: Swarm) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = orjson.loads(line)
        if "open" in command:
            answer: dict[str, Any] = await swarm.open(int(command["open"]))
        elif "arm" in command:
            answer = swarm.arm(int(command["arm"]))
        elif "wait" in command:
            answer = await swarm.wait(float(command["wait"]))
        else:
            answer = await swarm.close()
        sys.stdout.buffer.write(orjson.dumps(answer) + b"\n")
        sys.stdout.buffer.flush()
        if "close" in command:
            return


class SwarmProcess:
    """The parent's side: one swarm child and its command line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, kind: str, url: str, *args: object, secret: str = "") -> SwarmProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.ws_clients",
            kind,
            url,
            *map(str, args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=PROJECT_ROOT,
            env={**os.environ, "BENCH_WS_SECRET": secret},
            limit=2**24,  # a round's receipts come back as one line
        )
        return cls(process)

    async def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(orjson.dumps(command) + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the client swarm exited with {await self.process.wait()}")
        return orjson.loads(line)  # type: ignore[no-any-return]

    async def stop(self) -> None:
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.ask({"close": 1}), 30)
                await asyncio.wait_for(self.process.wait(), 10)
            except (TimeoutError, RuntimeError, OSError):
                self.process.kill()
                await self.process.wait()


if __name__ == "__main__":
    # uvloop, as the servers run: the client's own share of each latency as small as it gets
    uvloop.run(serve(Swarm(sys.argv[1], sys.argv[2], sys.argv[3:])))
