"""One operation sent over a WebSocket, in either protocol: what it answers, as Deliveries.

A query or a mutation runs as one HTTP request would: on a fresh RequestContext (its own read
snapshot and loaders, the connection's viewer), through every extension of the schema (document
limits, cost and rate limit, idempotency keys given in the input, error codes), within
REQUEST_TIMEOUT_S. A subscription follows the worker's shared stream for its document and scope
(transport/websocket_streams.py). The document is parsed here, through the document cache the schema
uses, only to tell which of the two it is: the schema's own parse then finds it cached.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError, OperationType, parse
from graphql.language import FragmentDefinitionNode
from graphql.utilities import get_operation_ast
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from core.context import RequestContext
from core.errors import ApiError, ErrorCode
from core.live import LiveContext
from core.metrics import WEBSOCKET_SUBSCRIPTIONS
from core.ratelimit import rate_limit_identity
from schema import schema
from schema.caching.hints import CacheScope
from schema.caching.keys import scope_of
from schema.extensions.caches import document_cache
from schema.extensions.cost import query_cost
from transport.websocket_costs import bucket_of, event_cost
from transport.websocket_protocols import protocol_of
from transport.websocket_streams import Delivery, payload_of, refusal_of

if TYPE_CHECKING:
    from transport.websocket import Connection, GraphQLWebSocket

log = logging.getLogger("swipesavvy.ws")

NOT_A_DOCUMENT = (
    "A subscribe message's payload needs `query` (a string) and, if any, `variables` (an object)."
)
TIMEOUT_MESSAGE = "The operation took too long and was cancelled."
NOT_OVER_THE_SOCKET = (StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION)


async def operation_results(
    view: GraphQLWebSocket, connection: Connection, query: Any, variables: Any, operation_name: Any
) -> AsyncIterator[Delivery]:
    """The deliveries of one operation, in order; its end is the operation's `complete`."""
    request_id = uuid.uuid4().hex
    if (
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
    ):
        refusal = ApiError(NOT_A_DOCUMENT, code=ErrorCode.BAD_USER_INPUT)
        yield Delivery(refusal=refusal_of([refusal], request_id))
        return
    settings = view.settings
    operation = fragments = None
    try:
        options = {"max_tokens": settings.graphql_max_tokens}
        cache = document_cache(
            settings.graphql_document_cache_bytes, settings.graphql_document_cache_max_document_bytes
        )
        document = cache.parse(query, options, parse)
        operation = get_operation_ast(document, operation_name)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    except GraphQLError:
        document = None  # the schema's own parse reports it, coded
    if document is None or operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        yield await _executed(connection, query, variables, operation_name, request_id)
        return

    viewer = connection.viewer
    policy = view.hints.policy(operation, fragments or {})
    # An answer no cache hint lets anyone keep (max age 0) is not known to be the same for everyone of
    # a role: it is taken for the viewer's own, shared by one person's subscriptions only.
    shared = CacheScope.PRIVATE if policy.max_age == 0 else policy.scope
    scope = scope_of(viewer, shared) or f"alone:{request_id}"
    # As text: the bytes orjson returns keep its whole output buffer (4 KiB), and every subscriber
    # holds its key as long as it is subscribed.
    variables_key = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode()
    key = (query, operation_name, variables_key, scope)
    try:
        cost = query_cost(schema._schema, document, operation_name=operation_name, variables=variables)
    except GraphQLError:
        cost = settings.rate_limit_failed_document_cost  # invalid variables: refused by the stream

    def start() -> tuple[LiveContext, Any]:
        live = LiveContext(_maker(connection))
        return live, schema.subscribe(
            query, variable_values=variables, operation_name=operation_name, context_value=live
        )

    running = WEBSOCKET_SUBSCRIPTIONS.labels(protocol_of(connection.websocket))
    running.inc()
    try:
        async for delivery in view.streams.follow(
            key=key,
            identity=rate_limit_identity(viewer, connection.client_ip),
            request_id=request_id,
            start=start,
            bucket=bucket_of(settings, connection.state.redis),
            cost=cost,
            event_cost=event_cost(settings, cost),
        ):
            yield delivery
    finally:
        running.dec()


def _maker(connection: Connection) -> Callable[[], RequestContext]:
    return lambda: connection.new_context(uuid.uuid4().hex)


async def _executed(
    connection: Connection, query: str, variables: dict[str, Any] | None, name: str | None, request_id: str
) -> Delivery:
    context = connection.new_context(request_id)
    try:
        async with asyncio.timeout(connection.settings.request_timeout_s):
            result = await schema.execute(
                query,
                variable_values=variables,
                operation_name=name,
                context_value=context,
                allowed_operation_types=NOT_OVER_THE_SOCKET,
            )
    except (CannotGetOperationTypeError, InvalidOperationTypeError) as exc:
        message = "The document has no operation to run." if name is None else "No operation has that name."
        if isinstance(exc, InvalidOperationTypeError):
            message = "This operation type cannot be run here."
        refusal = ApiError(message, code=ErrorCode.OPERATION_RESOLUTION_FAILURE)
        return Delivery(refusal=refusal_of([refusal], request_id))
    except TimeoutError:
        log.warning("%s: websocket operation cancelled", ErrorCode.TIMEOUT.value)
        error = ApiError(TIMEOUT_MESSAGE, code=ErrorCode.TIMEOUT, requestId=request_id)
        return Delivery(payload={"data": None, "errors": [error.formatted]})
    if isinstance(result, PreExecutionError):
        return Delivery(refusal=refusal_of(result.errors or [], request_id))
    return Delivery(payload=payload_of(result, request_id))
