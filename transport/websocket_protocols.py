"""Strawberry's handlers of the two WebSocket protocols, with what this API adds to them.

Strawberry keeps the protocols (connection_init and its timeout, ids, the subscription limit,
ping/pong, `ka`, complete/stop); these subclasses run each operation through
transport/websocket_operations.py instead of on the connection's one context, and watch the
connection: the server's ping (graphql-transport-ws; the legacy protocol's `ka` is Strawberry's),
the idle timeout, the access token's expiry and, every WS_AUTH_RECHECK_S, whether its account was
erased or its API key revoked. Expiry and revocation close with 4403: a graphql-ws client reconnects,
with a fresh token when its connectionParams are a function.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from resolvers.auth.api_keys import api_key_viewer
from resolvers.auth.revocations import is_erased

log = logging.getLogger("swipesavvy.ws")

TOO_BIG, GOING_AWAY, TRY_AGAIN_LATER, FORBIDDEN = 1009, 1001, 1013, 4403


class TooManyConnections(Exception):
    """The caller has WS_MAX_CONNECTIONS_PER_USER connections open on this worker already."""


class BoundedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, refusing messages over WS_MAX_MESSAGE_BYTES and noting when the client
    last said anything."""

    last_received = 0.0

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        limit = self.view.settings.ws_max_message_bytes  # type: ignore[attr-defined]
        self.last_received = time.monotonic()
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                message = await self.ws.receive()
                self.last_received = time.monotonic()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    raise NonTextMessageReceived
                if len(text) > limit and len(text.encode()) > limit:
                    await self.close(TOO_BIG, f"Messages are limited to {limit} bytes")
                    return
                try:
                    yield self.view.decode_json(text)
                except ValueError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except (WebSocketDisconnect, RuntimeError):
            return

    async def close(self, code: int, reason: str) -> None:
        # Closed once: a watchdog and a protocol error may both try.
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.ws.close(code=code, reason=reason)


async def _still_allowed(connection: Any) -> bool:
    """Whether the connection's account may still be used: not erased, its API key not revoked."""
    viewer, state, settings = connection.viewer, connection.state, connection.settings
    try:
        if connection.api_key is not None:
            return await api_key_viewer(state.sessionmaker, connection.api_key) is not None
        if viewer.user_id is not None:
            return not await is_erased(state.redis, state.sessionmaker, settings, user_id=viewer.user_id)
    except Exception:  # noqa: BLE001 - the database away is no reason to close; checked again later
        log.warning("websocket: could not check the connection's account again", exc_info=True)
    return True


async def _watch(handler: Any, *, pings: bool) -> None:
    """Until the connection closes: pings, the idle timeout, the token's expiry, account rechecks."""
    connection, websocket = handler.context, handler.websocket
    settings = connection.settings
    keep_alive, idle = settings.ws_keep_alive_s, settings.ws_idle_timeout_s
    recheck = settings.ws_auth_recheck_s
    closing = connection.state.drain.closing
    now = time.monotonic()
    next_ping, next_recheck = now + keep_alive, now + recheck
    while True:
        deadlines = [next_ping, next_recheck, websocket.last_received + idle]
        if connection.expires_at is not None:
            deadlines.append(now + max(0.0, connection.expires_at - time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing.wait(), max(0.01, min(deadlines) - time.monotonic()))
        if closing.is_set():
            # The server is draining (core/serving.py). No `complete` is sent first: graphql-ws and
            # subscriptions-transport-ws clients reconnect after a 1001 and subscribe again, on
            # another server, whereas a completed subscription would stay ended for them.
            log.info("websocket closed: the server is shutting down")
            await websocket.close(GOING_AWAY, "Server shutting down: reconnect")
            return
        now = time.monotonic()
        acknowledged = handler.connection_acknowledged
        if connection.expires_at is not None and time.time() >= connection.expires_at:
            log.info("websocket closed: the access token expired")
            await websocket.close(FORBIDDEN, "Forbidden: the access token has expired")
            return
        if now - websocket.last_received >= idle and (pings or not handler.busy()):
            log.info("websocket closed: nothing from the client in %s s", idle)
            await websocket.close(GOING_AWAY, "Idle timeout")
            return
        if now >= next_ping:
            next_ping = now + keep_alive
            if pings and acknowledged:
                with contextlib.suppress(WebSocketDisconnected):
                    await handler.send_message({"type": "ping"})
        if now >= next_recheck:
            next_recheck = now + recheck
            if acknowledged and not await _still_allowed(connection):
                log.info("websocket closed: its account was erased or its API key revoked")
                await websocket.close(FORBIDDEN, "Forbidden: the credentials were revoked")
                return


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("websocket watchdog failed", exc_info=task.exception())


class _Watched:
    """What both handlers add around Strawberry's: the watchdog, and the caller's connection count."""

    context: Any
    view: Any

    _watchdog: asyncio.Task[None] | None = None
    _pings = False

    def _watch_again(self) -> None:
        """(Re)start the watchdog: at the handshake, and once connection_init has set the deadlines."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = asyncio.create_task(_watch(self, pings=self._pings))
        self._watchdog.add_done_callback(_log_failure)

    async def _watched(self, handle: Any, *, pings: bool) -> None:
        self._pings = pings
        drain = self.context.state.drain
        drain.websockets += 1
        self._watch_again()
        try:
            await handle()
        finally:
            drain.websockets -= 1
            watchdog = self._watchdog
            if watchdog is not None:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watchdog
            if self.context.identity is not None:
                self.view.connections.close_caller(self.context.identity)
                self.context.identity = None


class TransportWsHandler(_Watched, BaseGraphQLTransportWSHandler[Any, None]):
    """graphql-transport-ws."""

    async def handle(self) -> None:
        await self._watched(super().handle, pings=True)

    def busy(self) -> bool:
        return bool(self.operations)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnections:
            await self.websocket.close(TRY_AGAIN_LATER, "Too many connections")
            return
        if self.connection_acknowledged:
            self._watch_again()

    async def run_operation(self, operation: Operation[Any, None]) -> None:
        try:
            async for delivery in self.view.results(self.context, _payload_of(operation)):
                if delivery.refusal is not None:
                    message = {"id": operation.id, "type": "error", "payload": delivery.refusal}
                    await operation.send_operation_message(message)  # type: ignore[arg-type]
                    return
                next_message = {"id": operation.id, "type": "next", "payload": delivery.payload}
                await operation.send_operation_message(next_message)  # type: ignore[arg-type]
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except WebSocketDisconnected:
            return
        except Exception as error:  # noqa: BLE001 - logged by Strawberry's hook, the operation completed
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)


def _payload_of(operation: Operation[Any, None]) -> dict[str, Any]:
    return {
        "query": operation.query,
        "variables": operation.variables,
        "operationName": operation.operation_name,
    }


class LegacyWsHandler(_Watched, BaseGraphQLWSHandler[Any, None]):
    """graphql-ws (subscriptions-transport-ws): `start` runs queries and mutations too."""

    async def handle(self) -> None:
        await self._watched(super().handle, pings=False)

    def busy(self) -> bool:
        return bool(self.tasks)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnections:
            refusal = {"type": "connection_error", "payload": {"message": "Too many connections"}}
            await self.send_message(refusal)  # type: ignore[arg-type]
            await self.websocket.close(TRY_AGAIN_LATER, "Too many connections")
            return
        if self.connection_acknowledged:
            self._watch_again()

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        payload = {"query": query, "variables": variables, "operationName": operation_name}
        try:
            async for delivery in self.view.results(self.context, payload):
                if delivery.refusal is not None:
                    error = delivery.refusal[0] if delivery.refusal else {}
                    await self.send_message({"type": "error", "id": operation_id, "payload": error})  # type: ignore[typeddict-item]
                    return
                await self.send_message({"type": "data", "id": operation_id, "payload": delivery.payload})  # type: ignore[typeddict-item]
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.send_message({"type": "complete", "id": operation_id})
        except WebSocketDisconnected:
            return
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)


def protocol_of(websocket: WebSocket) -> str:
    """The subprotocol the handshake will pick (graphql-transport-ws first, as Strawberry does); a
    metric label, so anything else is "none"."""
    offered = (getattr(websocket, "scope", None) or {}).get("subprotocols") or ()
    for protocol in (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL):
        if protocol in offered:
            return protocol
    return "none"
