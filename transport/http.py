"""The GraphQL-over-HTTP endpoint that server.py mounts at /graphql: one request, read top to bottom,
from the Accept header through the persisted-query step (transport/persisted.py) to the executed
operations' response."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable

from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.http.temporal_response import TemporalResponse
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from core.context import RequestContext
from core.database import POOL_EXHAUSTED, unavailability
from core.errors import ApiError, ErrorCode, ServiceUnavailable
from core.ratelimit import rate_limit_identity
from core.settings import Settings
from core.viewer import Viewer
from schema import schema
from schema.extensions.errors import coded
from transport.ide import GraphiQL
from transport.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    HttpProblem,
    error_codes,
    is_unavailable,
    negotiate,
    problem_response,
    results_response,
    unauthenticated_response,
    unavailable_response,
)
from transport.persisted import NO_CACHE, PersistedQueries, Refusal
from transport.requests import (
    IDEMPOTENCY_HEADER,
    Operation,
    is_query,
    read_operations,
    refuse_mutation_over_get,
)
from transport.surface import request_id_of
from transport.viewer import viewer_of

log = logging.getLogger("swipesavvy.http")

TIMEOUT_MESSAGE = "The request took too long and was cancelled."
HTTP_OPERATION_TYPES = (OperationType.QUERY, OperationType.MUTATION)
SUBSCRIPTIONS_OVER_WEBSOCKET = (
    "Subscriptions are served over WebSocket on /graphql (graphql-transport-ws or graphql-ws), not HTTP."
)
# How much of a client's operation name an error message or a log line quotes.
SHOWN_NAME_CHARS = 64


class GraphQLEndpoint:
    """GraphQL over HTTP as the spec says: POST (application/json, one operation or a batch) and GET
    (queries only), answered as application/graphql-response+json or application/json by Accept.

    Strawberry's own view lacks the spec's media type and status codes, so this endpoint calls
    `schema.execute` itself. GraphiQL is our own page (transport/ide.py), on this path for a browser.
    """

    def __init__(self, settings: Settings, secret: str) -> None:
        self.settings = settings
        self.secret = secret
        # Reads the trusted documents manifest, if any: a bad one stops the worker from starting.
        self.persisted = PersistedQueries(settings)
        # In trusted mode GraphiQL's documents (its introspection first) are not listed: no page.
        serves_ide = settings.graphiql_enabled and self.persisted.trusted is None
        self.ide = GraphiQL() if serves_ide else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._respond(request, request_id_of(scope))
        await response(scope, receive, send)

    async def _respond(self, request: Request, request_id: str) -> Response:
        accept = request.headers.get("accept", "")
        params = request.query_params
        if request.method == "GET" and not {"query", "extensions"} & params.keys() and "text/html" in accept:
            if self.ide is not None:
                return self.ide.page()
        media = negotiate(accept)
        if media is None:
            problem = HttpProblem(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            return problem_response(problem, JSON, request_id)
        try:
            viewer = await viewer_of(request, secret=self.secret, settings=self.settings)
        except ApiError as exc:
            log.info("%s: %s", exc.code.value, exc.message)
            return unauthenticated_response(exc, media, request_id)
        except Exception as exc:
            if unavailability(exc) is None:
                raise
            return self._unavailable(exc, media, request_id)
        redis = request.state.redis
        try:
            operations, batched = await read_operations(request, max_batch=self.settings.max_batch_operations)
            # The persisted-query step comes before any parsing (in trusted mode a document outside
            # the list is never parsed). A batch's members are resolved as the batch runs, so one
            # member finds the document an earlier one stored.
            single = None if batched else await self.persisted.resolve(operations[0], redis)
            if isinstance(single, Refusal):
                return single.response(media, request_id)
            if request.method == "GET" and single is not None:
                refuse_mutation_over_get(single.operation)
        except HttpProblem as problem:
            log.info("refused with %s: %s", problem.status, problem.message)
            return problem_response(problem, media, request_id)
        for op in operations:
            # Variables can hold personal data and secrets: the log's redaction filter masks them.
            log.debug("graphql %s variables=%s", _shown(op.operation_name), op.variables)
        response = TemporalResponse()
        identity = rate_limit_identity(viewer, _client_ip(request))

        def new_context() -> RequestContext:
            return self._context(request, viewer, request_id, response, batched)

        async def answer(op: Operation) -> ExecutionResult:
            resolved = single or await self.persisted.resolve(op, redis)
            if isinstance(resolved, Refusal):
                if resolved.no_cache:
                    response.headers["cache-control"] = NO_CACHE
                return resolved.result(request_id)
            result = await self._execute(resolved.operation, new_context, request_id)
            await self.persisted.register(resolved, result, redis=redis, identity=identity)
            return result

        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                results = [await answer(op) for op in operations]
        except TimeoutError:
            # Leaving the block cancelled the execution; PostgreSQL's statement_timeout (set on the
            # pool's connections) ends a statement still running on the server's side.
            log.warning(
                "%s: request cancelled after %ss", ErrorCode.TIMEOUT.value, self.settings.request_timeout_s
            )
            problem = HttpProblem(504, TIMEOUT_MESSAGE, timeoutSeconds=self.settings.request_timeout_s)
            return problem_response(problem, media, request_id, code=ErrorCode.TIMEOUT)
        retry_after = self.settings.service_unavailable_retry_after_s
        return results_response(
            results, batched=batched, media=media, headers=response.headers, retry_after=retry_after
        )

    async def _execute(
        self, op: Operation, new_context: Callable[[], RequestContext], request_id: str
    ) -> ExecutionResult:
        """One operation's result; a query that met an unavailable database is run once more, on a
        fresh context (a restart drops the pool's connections, and the retry opens new ones)."""
        result = await self._execute_once(op, new_context(), request_id)
        if _worth_retrying(result) and is_query(op):
            log.info("retrying a query once: the database was unavailable")
            await asyncio.sleep(self.settings.query_retry_delay_ms / 1000)
            result = await self._execute_once(op, new_context(), request_id)
        return result

    async def _execute_once(self, op: Operation, context: RequestContext, request_id: str) -> ExecutionResult:
        try:
            result = await schema.execute(
                op.query,
                variable_values=op.variables,
                operation_name=op.operation_name,
                context_value=context,
                allowed_operation_types=HTTP_OPERATION_TYPES,
            )
        except InvalidOperationTypeError:
            # A subscription: served over WebSocket on the same path (transport/websocket.py).
            refusal = ApiError(SUBSCRIPTIONS_OVER_WEBSOCKET, code=ErrorCode.OPERATION_RESOLUTION_FAILURE)
            return ExecutionResult(data=None, errors=[coded(refusal, request_id)])
        except CannotGetOperationTypeError:
            # The spec's request error: the operationName names no operation of the document.
            named = op.operation_name
            message = "The document has no operation to run."
            if named is not None:
                message = f'The document has no operation named "{_shown(named)}".'
            refusal = ApiError(message, code=ErrorCode.OPERATION_RESOLUTION_FAILURE)
            return ExecutionResult(data=None, errors=[coded(refusal, request_id)])
        # Errors raised outside the schema's own error coding (Strawberry answers an exception from an
        # extension with its bare text) are coded here, so no driver text ever reaches the client.
        if any("code" not in (error.extensions or {}) for error in result.errors or []):
            retry_after = self.settings.service_unavailable_retry_after_s
            result.errors = [
                error
                if "code" in (error.extensions or {})
                else coded(error, request_id, retry_after=retry_after)
                for error in result.errors or []
            ]
        return result

    def _unavailable(self, exc: Exception, media: str, request_id: str) -> Response:
        retry_after = self.settings.service_unavailable_retry_after_s
        error = coded(ServiceUnavailable(retry_after=retry_after, cause=exc), request_id)
        return unavailable_response(error, media, retry_after=retry_after)

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
            services=state.services,
        )


def _client_ip(request: Request) -> str | None:
    """The peer's IP address, or None when the transport gives something else (a test client's name)."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _worth_retrying(result: ExecutionResult) -> bool:
    """The database's absence stopped every field, and not for want of a pooled connection: waiting
    for the pool again would only add load and time to an overloaded server."""
    if not is_unavailable(result) or error_codes(result) != {ErrorCode.SERVICE_UNAVAILABLE.value}:
        return False
    return all(unavailability(error.original_error) != POOL_EXHAUSTED for error in result.errors or [])


def _shown(name: str | None) -> str:
    """A client's operation name as an error message or a log line quotes it: cut short."""
    if name is None:
        return "-"
    return name if len(name) <= SHOWN_NAME_CHARS else name[:SHOWN_NAME_CHARS] + "…"
