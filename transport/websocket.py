"""GraphQL over WebSocket on /graphql, beside the HTTP endpoint: graphql-transport-ws (the graphql-ws
library's protocol) and the legacy graphql-ws (subscriptions-transport-ws), through Strawberry's own
handlers (transport/websocket_protocols.py) for the origin check, the init timeout, the subscription
limit and the messages of each protocol.

Who is connecting is said once, in connection_init's payload, with the same credentials and rules as
HTTP (`Authorization: Bearer …` or `X-API-Key`, at the top of the payload or under `headers`); what
each operation runs on is transport/websocket_operations.py. Connections are counted per worker: per
client address before the handshake is accepted (past the limit: HTTP 403), per caller (user, API
key, anonymous address) at connection_init (past it: closed with 1013, try again later).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import jwt
import orjson
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from core.context import RequestContext
from core.database import unavailability
from core.errors import ApiError
from core.metrics import WEBSOCKET_CONNECTIONS
from core.ratelimit import rate_limit_identity
from core.settings import Settings
from core.viewer import ANONYMOUS, Viewer
from schema import schema
from schema.caching.hints import Hints
from transport.viewer import API_KEY_HEADER, AUTHORIZATION_HEADER, viewer_of_headers
from transport.websocket_operations import operation_results
from transport.websocket_protocols import (
    BoundedWebSocketAdapter,
    LegacyWsHandler,
    TooManyConnections,
    TransportWsHandler,
    protocol_of,
)
from transport.websocket_streams import Delivery, SharedStreams

log = logging.getLogger("swipesavvy.ws")


class Connection:
    """One WebSocket connection: Strawberry's context for it. Operations never run on it: each gets a
    RequestContext of its own (`new_context`)."""

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.websocket = websocket
        self.settings = settings
        self.state = websocket.state
        self.client_ip = client_ip(websocket)
        self.viewer: Viewer = ANONYMOUS
        # Set by Strawberry from connection_init.
        self.connection_params: dict[str, Any] | None = None
        # When the access token expires (epoch seconds), and the API key, to check it again.
        self.expires_at: float | None = None
        self.api_key: str | None = None
        self.identity: str | None = None

    def new_context(self, request_id: str) -> RequestContext:
        state = self.state
        return RequestContext(
            request=None,
            settings=self.settings,
            sessionmaker=state.read_sessionmaker,
            redis=state.redis,
            viewer=self.viewer,
            request_id=request_id,
            write_sessionmaker=state.sessionmaker,
            client_ip=self.client_ip,
            services=state.services,
        )


def client_ip(websocket: WebSocket) -> str | None:
    host = websocket.client.host if websocket.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def credentials(params: Mapping[str, Any] | None) -> dict[str, str]:
    """The payload's credentials as lowercase header names: `{"Authorization": …}`, `{"x-api-key": …}`
    or the same under `headers` (Apollo's and graphql-ws's usual shapes)."""
    found: dict[str, str] = {}
    for source in (params or {}, (params or {}).get("headers")):
        if isinstance(source, Mapping):
            for name, value in source.items():
                lowered = str(name).lower()
                if lowered in (AUTHORIZATION_HEADER, API_KEY_HEADER) and isinstance(value, str):
                    found.setdefault(lowered, value)
    return found


def token_expiry(authorization: str | None) -> float | None:
    """The `exp` of a bearer token already verified (viewer_of_headers), in epoch seconds."""
    if not authorization:
        return None
    token = authorization.partition(" ")[2].strip()
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(exp) if isinstance(exp, int | float) else None


class ConnectionCounts:
    """Open connections of this worker, per client address and per caller."""

    def __init__(self, *, per_ip: int, per_caller: int) -> None:
        self.per_ip, self.per_caller = per_ip, per_caller
        self.by_ip: Counter[str] = Counter()
        self.by_caller: Counter[str] = Counter()

    def open_ip(self, ip: str | None) -> bool:
        key = ip or "unknown"
        if self.by_ip[key] >= self.per_ip:
            return False
        self.by_ip[key] += 1
        return True

    def close_ip(self, ip: str | None) -> None:
        _release(self.by_ip, ip or "unknown")

    def open_caller(self, identity: str) -> bool:
        if self.by_caller[identity] >= self.per_caller:
            return False
        self.by_caller[identity] += 1
        return True

    def close_caller(self, identity: str) -> None:
        _release(self.by_caller, identity)


def _release(counts: Counter[str], key: str) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]


class GraphQLWebSocket(GraphQL[Connection, None]):
    """Strawberry's ASGI view, serving WebSockets only (server.py mounts it as a WebSocketRoute)."""

    graphql_transport_ws_handler_class = TransportWsHandler
    graphql_ws_handler_class = LegacyWsHandler
    websocket_adapter_class = BoundedWebSocketAdapter  # type: ignore[assignment]

    def __init__(self, settings: Settings, secret: str) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            keep_alive=True,
            keep_alive_interval=settings.ws_keep_alive_s,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
            allowed_origins=settings.cors_origin_list,
        )
        self.settings = settings
        self.secret = secret
        self.hints = Hints(schema._schema)
        self.streams = SharedStreams(queued_events=settings.subscription_queued_events)
        self.connections = ConnectionCounts(
            per_ip=settings.ws_max_connections_per_ip, per_caller=settings.ws_max_connections_per_user
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        ip = client_ip(request)
        if not self.connections.open_ip(ip):
            log.info("websocket refused: %s connections from %s", self.settings.ws_max_connections_per_ip, ip)
            return await self.reject_websocket(request)
        open_now = WEBSOCKET_CONNECTIONS.labels(protocol_of(request))
        open_now.inc()
        try:
            return await super().run(request, context, root_value)
        finally:
            open_now.dec()
            self.connections.close_ip(ip)

    async def get_context(self, request: Any, response: Any) -> Connection:
        return Connection(request, self.settings)

    async def on_ws_connect(self, context: Connection) -> UnsetType | dict[str, object] | None:
        """Authenticate the connection from connection_init's payload; refused: 4403 (Strawberry)."""
        given = credentials(context.connection_params)
        try:
            viewer = await viewer_of_headers(given, context.state, secret=self.secret, settings=self.settings)
        except ApiError as exc:
            log.info("websocket refused at connection_init: %s", exc.message)
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code.value}) from None
        except Exception as exc:
            if unavailability(exc) is None:
                raise
            log.warning("websocket refused at connection_init: the database is unavailable")
            raise ConnectionRejectionError({"message": "The service is temporarily unavailable."}) from None
        identity = rate_limit_identity(viewer, context.client_ip)
        if not self.connections.open_caller(identity):
            raise TooManyConnections(identity)
        context.viewer, context.identity = viewer, identity
        context.api_key = given.get(API_KEY_HEADER)
        context.expires_at = token_expiry(given.get(AUTHORIZATION_HEADER))
        if context.expires_at is not None and context.expires_at <= time.time():
            raise ConnectionRejectionError({"message": "The access token has expired."})
        return UNSET

    def results(self, connection: Connection, payload: Mapping[str, Any]) -> AsyncIterator[Delivery]:
        return operation_results(
            self, connection, payload.get("query"), payload.get("variables"), payload.get("operationName")
        )

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        # Text frames: both protocols are JSON text.
        return orjson.dumps(data, default=str).decode()
