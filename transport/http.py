"""The GraphQL-over-HTTP endpoint that server.py mounts at /graphql: one request, read top to bottom,
from the Accept header to the executed operations' response."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from strawberry.http.temporal_response import TemporalResponse

from core.context import RequestContext
from core.errors import ApiError, ErrorCode
from core.settings import Settings
from core.viewer import Viewer
from schema import schema
from transport.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    HttpProblem,
    negotiate,
    problem_response,
    results_response,
    unauthenticated_response,
)
from transport.requests import IDEMPOTENCY_HEADER, read_operations
from transport.surface import request_id_of
from transport.viewer import viewer_of

log = logging.getLogger("swipesavvy.http")

TIMEOUT_MESSAGE = "The request took too long and was cancelled."


class GraphQLEndpoint:
    """GraphQL over HTTP as the spec says: POST (application/json, one operation or a batch) and GET
    (queries only), answered as application/graphql-response+json or application/json by Accept.

    Strawberry's own view lacks the spec's media type and status codes, so this endpoint calls
    `schema.execute` itself; GraphiQL is still Strawberry's page.
    """

    def __init__(self, settings: Settings, secret: str) -> None:
        self.settings = settings
        self.secret = secret
        self.ide_html = get_graphql_ide_html("graphiql") if settings.graphiql_enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._respond(request, request_id_of(scope))
        await response(scope, receive, send)

    async def _respond(self, request: Request, request_id: str) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            if self.ide_html is not None:
                return HTMLResponse(self.ide_html)
        media = negotiate(accept)
        if media is None:
            problem = HttpProblem(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            return problem_response(problem, JSON, request_id)
        try:
            viewer = await viewer_of(request, secret=self.secret)
        except ApiError as exc:
            return unauthenticated_response(exc, media, request_id)
        try:
            operations, batched = await read_operations(request, max_batch=self.settings.max_batch_operations)
        except HttpProblem as problem:
            return problem_response(problem, media, request_id)
        for op in operations:
            # Variables can hold personal data and secrets: the log's redaction filter masks them.
            log.debug("graphql %s variables=%s", op.operation_name or "-", op.variables)
        response = TemporalResponse()
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                results = [
                    await schema.execute(
                        op.query,
                        variable_values=op.variables,
                        operation_name=op.operation_name,
                        context_value=self._context(request, viewer, request_id, response, batched),
                    )
                    for op in operations
                ]
        except TimeoutError:
            # Leaving the block cancelled the execution; PostgreSQL's statement_timeout (set on the
            # pool's connections) ends a statement still running on the server's side.
            log.warning("request cancelled after %ss", self.settings.request_timeout_s)
            problem = HttpProblem(504, TIMEOUT_MESSAGE, timeoutSeconds=self.settings.request_timeout_s)
            return problem_response(problem, media, request_id, code=ErrorCode.INTERNAL)
        return results_response(results, batched=batched, media=media, headers=response.headers)

    def _context(
        self, request: Request, viewer: Viewer, request_id: str, response: TemporalResponse, batched: bool
    ) -> RequestContext:
        """A fresh context per operation: a batch's operations share nothing but the response headers."""
        state = request.state
        return RequestContext(
            request=request,
            settings=self.settings,
            sessionmaker=state.read_sessionmaker,
            redis=state.redis,
            viewer=viewer,
            request_id=request_id,
            write_sessionmaker=state.sessionmaker,
            client_ip=_client_ip(request),
            idempotency_key=None if batched else request.headers.get(IDEMPOTENCY_HEADER),
            response=response,
        )


def _client_ip(request: Request) -> str | None:
    """The peer's IP address, or None when the transport gives something else (a test client's name)."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None
