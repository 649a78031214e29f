"""GraphQL over HTTP, as the spec says: POST (JSON) and GET (queries only), media-type negotiation
(`application/graphql-response+json` or `application/json`), batches, the viewer from the token, the
request's time limit. The HTTP layer above the schema; server.py mounts it at /graphql.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from strawberry.http.temporal_response import TemporalResponse

from core.context import RequestContext
from core.errors import ApiError, ErrorCode, Unauthenticated
from core.http import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    HttpProblem,
    decode_body,
    decode_json_param,
    error_body,
    negotiate,
    operation_params,
    request_id_of,
)
from core.settings import Settings
from core.tokens import viewer_from_authorization
from core.viewer import Viewer
from resolvers.auth.api_keys import viewer_for_api_key
from schema import schema

log = logging.getLogger("swipesavvy.http")
API_KEY_HEADER = "x-api-key"

IDEMPOTENCY_HEADER = "idempotency-key"
TIMEOUT_MESSAGE = "The request took too long and was cancelled."
# Response headers a cross-origin script may read (CORS hides the others from it).


def _client_ip(request: Request) -> str | None:
    """The peer's IP address, or None when the transport gives something else (a test client's name)."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _is_request_error(result: ExecutionResult) -> bool:
    """No execution happened (parse, validation, variables, a refusal): the spec's "no data entry"."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or [])


def _encoded(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {} if _is_request_error(result) else {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _request_error_status(content: dict[str, Any]) -> int:
    """With the spec's media type: 200 with a data entry; else 4xx (429 for a rate limit, so clients
    and proxies back off by status and Retry-After; 400 for everything else refused before execution)."""
    if "data" in content:
        return 200
    codes = {(error.get("extensions") or {}).get("code") for error in content.get("errors", [])}
    return 429 if codes == {ErrorCode.RATE_LIMITED.value} else 400


def _is_mutation(query: str, operation_name: str | None) -> bool:
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False  # execution reports the syntax error
    return operation is not None and operation.operation is OperationType.MUTATION


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

    async def _viewer(self, request: Request) -> Viewer:
        """From `Authorization: Bearer <jwt>` or `X-API-Key`, never both; neither is anonymous."""
        api_key = request.headers.get(API_KEY_HEADER)
        authorization = request.headers.get("authorization")
        if api_key is None:
            return viewer_from_authorization(authorization, secret=self.secret)
        if authorization:
            raise Unauthenticated("Send an API key or a bearer token, not both.")
        # A write session: the lookup records when the key was last used.
        async with request.app.state.sessionmaker() as session, session.begin():
            viewer = await viewer_for_api_key(session, api_key.strip())
        if viewer is None:
            raise Unauthenticated("The API key is invalid, revoked or expired.")
        return viewer

    async def _respond(self, request: Request, request_id: str) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            if self.ide_html is not None:
                return HTMLResponse(self.ide_html)
        media = negotiate(accept)
        if media is None:
            problem = HttpProblem(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            return self._problem(problem, JSON, request_id)
        try:
            viewer = await self._viewer(request)
        except ApiError as exc:
            body = {
                "errors": [
                    {
                        "message": exc.message,
                        "extensions": {**(exc.extensions or {}), "requestId": request_id},
                    }
                ]
            }
            return Response(orjson.dumps(body), 401, {"WWW-Authenticate": "Bearer"}, media_type=media)
        try:
            operations, batched = await self._operations(request)
        except HttpProblem as problem:
            return self._problem(problem, media, request_id)
        for op in operations:
            # Variables can hold personal data and secrets: the log's redaction filter masks them.
            log.debug("graphql %s variables=%s", op["operation_name"] or "-", op["variables"])
        response = TemporalResponse()
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                results = [
                    await schema.execute(
                        op["query"],
                        variable_values=op["variables"],
                        operation_name=op["operation_name"],
                        context_value=self._context(request, viewer, request_id, response, batched),
                    )
                    for op in operations
                ]
        except TimeoutError:
            # Leaving the block cancelled the execution; PostgreSQL's statement_timeout (set on the
            # pool's connections) ends a statement still running on the server's side.
            log.warning("request cancelled after %ss", self.settings.request_timeout_s)
            problem = HttpProblem(504, TIMEOUT_MESSAGE, timeoutSeconds=self.settings.request_timeout_s)
            return self._problem(problem, media, request_id, code=ErrorCode.INTERNAL)
        if batched:
            content: Any = [_encoded(result) for result in results]
            status = 200
        else:
            content = _encoded(results[0])
            # application/json: always 200 with the errors (the spec says so for that media type).
            status = _request_error_status(content) if media == GRAPHQL_RESPONSE_JSON else 200
        return Response(orjson.dumps(content), status, response.headers, media_type=media)

    async def _operations(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        if request.method == "GET":
            params = request.query_params
            raw = {
                "query": params.get("query"),
                "operationName": params.get("operationName"),
                "variables": decode_json_param(params.get("variables"), "variables"),
                "extensions": decode_json_param(params.get("extensions"), "extensions"),
            }
            operation = operation_params(raw)
            if _is_mutation(operation["query"], operation["operation_name"]):
                raise HttpProblem(405, "Mutations must be sent with POST.")
            return [operation], False
        body = await request.body()
        operations = decode_body(
            body, request.headers.get("content-type"), max_batch=self.settings.max_batch_operations
        )
        batched = body.lstrip()[:1] == b"["
        if batched and request.headers.get(IDEMPOTENCY_HEADER):
            raise HttpProblem(400, "The Idempotency-Key header applies to one operation, not a batch.")
        return operations, batched

    def _context(
        self, request: Request, viewer: Viewer, request_id: str, response: TemporalResponse, batched: bool
    ) -> RequestContext:
        """A fresh context per operation: a batch's operations share nothing but the response headers."""
        state = request.app.state
        return RequestContext(
            request=request,
            settings=state.settings,
            sessionmaker=state.read_sessionmaker,
            redis=state.redis,
            viewer=viewer,
            request_id=request_id,
            write_sessionmaker=state.sessionmaker,
            client_ip=_client_ip(request),
            idempotency_key=None if batched else request.headers.get(IDEMPOTENCY_HEADER),
            response=response,
        )

    @staticmethod
    def _problem(
        problem: HttpProblem, media: str, request_id: str, *, code: ErrorCode = ErrorCode.BAD_USER_INPUT
    ) -> Response:
        body = error_body(problem.message, code, request_id, **problem.extensions)
        headers = {"Allow": "GET, POST"} if problem.status == 405 else None
        return Response(body, problem.status, headers, media_type=media)
