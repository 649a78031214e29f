"""The client swarm of bench/subscriptions.py: one process holding many WebSocket subscribers, driven
by its parent through stdin and stdout, one JSON object a line.

    python -m bench.ws_clients graphql URL CAMPAIGN_ID MERCHANT_ID FIRST  (BENCH_WS_SECRET: JWT secret)
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
publisher's text (relay). The receipt time is the wall clock when the message's bytes reach this
process (bench/ws_socket.py), before it is parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
from typing import Any

import orjson
import uvloop
from websockets.uri import parse_uri

from bench.ws_socket import COMPRESSION_ENV, Socket
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


class Subscriber:
    """One subscriber of the swarm: its socket, and the graphql-transport-ws steps of its start."""

    def __init__(self, swarm: Swarm, number: int) -> None:
        self.swarm, self.number = swarm, number
        self.handshake: asyncio.Queue[dict[str, Any]] | None = None
        graphql = swarm.kind == "graphql"
        self.socket = Socket(
            swarm.url, [PROTOCOL] if graphql else [], self._graphql if graphql else self._relay
        )

    async def start(self, token: str | None) -> None:
        uri = parse_uri(self.swarm.url)
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self.socket, uri.host, uri.port)
        await self.socket.opened
        if token is None:
            return
        self.handshake = asyncio.Queue()
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        self.socket.send(orjson.dumps(init).decode())
        await self._expect("connection_ack")
        variables = {"id": self.swarm.campaign}
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": STATUS, "variables": variables}}
        self.socket.send(orjson.dumps(subscribe).decode())
        await self._expect("next")
        self.handshake = None

    async def _expect(self, kind: str) -> None:
        assert self.handshake is not None
        message = await self.handshake.get()
        if message.get("type") != kind:
            raise RuntimeError(f"expected {kind}, got {message}")

    def _graphql(self, received: float, text: str) -> None:
        message = orjson.loads(text)
        if message.get("type") == "ping":
            self.socket.send(PONG)
        elif self.handshake is not None:
            self.handshake.put_nowait(message)
        else:
            self.swarm.receive(self.number, received, _updated_at(message))

    def _relay(self, received: float, text: str) -> None:
        self.swarm.receive(self.number, received, text)


class Swarm:
    def __init__(self, kind: str, url: str, args: list[str]) -> None:
        self.kind, self.url = kind, url
        if kind == "graphql":
            self.campaign, self.merchant_id, self.first = args[0], int(args[1]), int(args[2])
            self.secret = os.environ["BENCH_WS_SECRET"]
        self.subscribers: list[Subscriber] = []
        self.failed = 0
        self.armed: int | None = None
        self.receipts: dict[int, tuple[float, str]] = {}
        self.all_in = asyncio.Event()

    def _token(self, index: int) -> str | None:
        if self.kind != "graphql":
            return None
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
        start = len(self.subscribers) + self.failed

        async def one(index: int) -> None:
            async with gate:
                subscriber = Subscriber(self, -1)
                try:
                    await asyncio.wait_for(subscriber.start(self._token(index)), HANDSHAKE_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - counted and reported, the bench goes on
                    self.failed += 1
                    subscriber.socket.close()
                    print(f"subscriber {index} failed: {exc!r}", file=sys.stderr)
                    return
                subscriber.number = len(self.subscribers)
                self.subscribers.append(subscriber)

        await asyncio.gather(*(one(start + i) for i in range(count)))
        return {"open": len(self.subscribers), "failed": self.failed}

    def receive(self, number: int, received: float, marker: str) -> None:
        if self.armed is not None and number >= 0 and number not in self.receipts:
            self.receipts[number] = (received, marker)
            if len(self.receipts) >= len(self.subscribers):
                self.all_in.set()

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
        return {"received": received, "missing": len(self.subscribers) - len(received)}

    async def close(self) -> dict[str, int]:
        for subscriber in self.subscribers:
            subscriber.socket.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                for subscriber in self.subscribers:
                    await subscriber.socket.closed.wait()
        return {"closed": len(self.subscribers)}


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
    async def start(
        cls, kind: str, url: str, *args: object, secret: str = "", compression: bool = False
    ) -> SwarmProcess:
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
            env={**os.environ, "BENCH_WS_SECRET": secret, COMPRESSION_ENV: "1" if compression else ""},
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
