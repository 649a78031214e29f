"""The baseline of bench/subscriptions.py: a bare relay from one Redis pub/sub channel to every open
WebSocket, with no GraphQL, no authentication, no per-subscriber state beyond the socket.

    uvicorn bench.relay:create_app --factory   (REDIS_URL, RELAY_CHANNEL from the environment)

One listener task hears the channel and sends each message's bytes, unchanged, to every connected
socket in turn: the least a server can do to deliver one published event to N subscribers in one
process. What our server does beyond it (executing the selection per scope, serialising, charging
each subscriber, a mailbox per subscriber) is what the bench's ratio prices.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

DEFAULT_CHANNEL = "bench:relay"


class Relay:
    """The open sockets, and the task feeding them from the channel."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self.redis_url, self.channel = redis_url, channel
        self.sockets: set[WebSocket] = set()
        self.listening = asyncio.Event()

    async def listen(self) -> None:
        client = aioredis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.listening.set()
            async for message in pubsub.listen():
                text = message["data"].decode()
                for socket in list(self.sockets):
                    try:
                        await socket.send_text(text)
                    except (RuntimeError, OSError, WebSocketDisconnect):
                        self.sockets.discard(socket)
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.sockets.add(websocket)
        try:
            while True:
                await websocket.receive_text()  # the clients say nothing; this notices them leave
        except WebSocketDisconnect:
            pass
        finally:
            self.sockets.discard(websocket)


def create_app() -> Starlette:
    relay = Relay(os.environ["REDIS_URL"], os.environ.get("RELAY_CHANNEL", DEFAULT_CHANNEL))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(relay.listen(), name="relay")
        await asyncio.wait_for(relay.listening.wait(), 10)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def ready(request: Request) -> PlainTextResponse:
        # bench/harness.py's live_app waits for this before handing the server to the bench.
        return PlainTextResponse(f"{len(relay.sockets)} sockets")

    return Starlette(
        routes=[Route("/readyz", ready), WebSocketRoute("/ws", relay.serve)],
        lifespan=lifespan,
    )
