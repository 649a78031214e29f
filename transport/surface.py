"""What every HTTP response carries, whatever the route: a request id, security headers and the
body-size limit; the client address behind trusted proxies; and the headers CORS lets through."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from core.errors import ErrorCode
from core.logging import request_id_var
from core.settings import Settings
from transport.media import error_body

log = logging.getLogger("swipesavvy.http")

REQUEST_ID_HEADER = "x-request-id"
# A client's id is echoed only when it is short and plain, so it cannot smuggle text into logs.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# The API answers JSON only: nothing may load, frame or run from its responses.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# GraphiQL's page (transport/ide.py) loads its scripts and styles from this server only, and runs no
# inline script; its fonts and icons are data: URLs inside its stylesheet; it talks to this origin
# only ('self' covers ws:// and wss:// to the same host).
IDE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src data:; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HSTS = "max-age=63072000; includeSubDomains"
# Responses of these paths depend on the viewer: no shared or browser cache may keep them, unless
# the endpoint set a Cache-Control of its own (the response cache's, schema/extensions/; a persisted
# query's miss: private, no-cache).
NO_STORE_PREFIXES = ("/graphql",)
# The request headers a cross-origin script may send, and the response headers it may read (CORS
# hides the others from it).
CORS_ALLOWED_HEADERS = ["authorization", "content-type", "x-request-id", "idempotency-key", "x-api-key"]
CORS_EXPOSED_HEADERS = ["x-request-id", "idempotent-replayed", "retry-after"]


class BodyTooLarge(Exception):
    """The request body passed max_body_bytes while it was being read."""


def request_id_of(scope: Scope) -> str:
    """The id HttpSurface gave this request (a fresh one when the app runs without the middleware)."""
    state = scope.setdefault("state", {})
    return str(state.setdefault("request_id", uuid.uuid4().hex))


class HttpSurface:
    """ASGI middleware, outermost: every response (GraphQL, health, CORS preflight, 413) gets the
    request id and the security headers; request bodies longer than the limit are refused with 413."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        # Behind a load balancer the peer is the balancer: with TRUSTED_PROXIES set, uvicorn's
        # middleware takes the client address from X-Forwarded-For of those peers only (the
        # right-most address no trusted proxy wrote), before anything reads it.
        proxies = settings.trusted_proxy_list
        self.app = ProxyHeadersMiddleware(app, trusted_hosts=proxies) if proxies else app  # type: ignore[arg-type]
        self.max_body_bytes = settings.max_body_bytes
        self.production = settings.is_production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        try:
            await self._handle(scope, receive, send, request_id)
        finally:
            request_id_var.reset(token)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        path: str = scope.get("path", "")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                self._add_headers(headers, path, request_id)
                drain = scope.get("state", {}).get("drain")
                if drain is not None and drain.draining:
                    # The client opens its next connection elsewhere now, instead of reusing this one
                    # just as the listener closes and the idle connection is dropped under its request.
                    headers["connection"] = "close"
            await send(message)

        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send_with_headers, request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(send_with_headers, request_id)
        except ClientDisconnect:
            return  # nobody is left to answer
        except asyncio.CancelledError:
            drain = scope.get("state", {}).get("drain")
            if started or drain is None or not drain.cut:
                raise
            # Cancelled by the drain (core/serving.py) past its grace period: the request ends here,
            # answered with a code the client can retry on, not uvicorn's 500.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            body = error_body("The server is shutting down.", ErrorCode.SERVICE_UNAVAILABLE, request_id)
            await _send_json(send_with_headers, 503, body)
        except Exception:
            # The client gets the code and the request id; the detail goes to the server log only.
            log.exception("unhandled error in %s %s", scope.get("method"), path)
            if started:
                raise
            body = error_body("Internal server error.", ErrorCode.INTERNAL, request_id)
            await _send_json(send_with_headers, 500, body)

    def _add_headers(self, headers: MutableHeaders, path: str, request_id: str) -> None:
        headers[REQUEST_ID_HEADER] = request_id
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        is_page = headers.get("content-type", "").startswith("text/html")
        headers.setdefault("content-security-policy", IDE_CSP if is_page else API_CSP)
        if self.production:
            headers.setdefault("strict-transport-security", HSTS)
        if path.startswith(NO_STORE_PREFIXES):
            headers.setdefault("cache-control", "no-store")

    async def _too_large(self, send: Send, request_id: str) -> None:
        body = error_body(
            f"The request body is larger than {self.max_body_bytes} bytes.",
            ErrorCode.BAD_USER_INPUT,
            request_id,
            maxBodyBytes=self.max_body_bytes,
        )
        await _send_json(send, 413, body)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
