"""Every response follows the API's conventions: coded errors, no leaked exception text, query cost
and rate limit, SQL cost."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError
from strawberry.types.graphql import OperationType

from core import sqlstats
from core.errors import ApiError, ErrorCode
from core.ratelimit import Draw, TokenBucket, rate_limit_identity
from resolvers import idempotency
from schema.extensions.limits import query_cost

log = logging.getLogger("swipesavvy.graphql")

INTERNAL_MESSAGE = "Internal server error."
REPLAYED_HEADER = "idempotent-replayed"
# operation_name of key rows taken by the Idempotency-Key header (whole-request replay).
REQUEST_OPERATION = "request"
# Exceptions raised while converting client input: the client's fault, not ours.
INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError)
# graphql-core appends its suggestions ("Did you mean 'flags'?") at the end of a message.
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
RETRY_AFTER_HEADER = "retry-after"


def coded(error: GraphQLError, request_id: str | None, *, hide_suggestions: bool = False) -> GraphQLError:
    """Give the error its code and the request id; mask anything unexpected as INTERNAL."""
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    # In production the schema is not advertised: no "did you mean" for unknown fields, arguments,
    # types or enum values (Strawberry's own setting removes only the first kind, for every env).
    message = SUGGESTION.sub("", error.message) if hide_suggestions else error.message
    if "code" in extensions:
        pass
    elif original is None or isinstance(original, (*INPUT_ERRORS, GraphQLError)):
        # Syntax, validation and variable-coercion errors (graphql-core wraps a bad enum value, say,
        # as a GraphQLError inside the located error).
        extensions["code"] = ErrorCode.BAD_USER_INPUT.value
    else:
        log.error("unexpected error (request %s)", request_id, exc_info=original)
        extensions["code"] = ErrorCode.INTERNAL.value
        message = INTERNAL_MESSAGE
    if request_id:
        extensions["requestId"] = request_id
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class CachedParser(ParserCache):
    """ParserCache that leaves a document it cannot parse to Strawberry's own parse.

    An error raised in `on_parse` escapes Strawberry's error handling (the response would carry an
    uncoded error); parsing again in Strawberry's guarded step answers it like any syntax error.
    """

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        try:
            ec.graphql_document = self.cached_parse_document(ec.query, **ec.parse_options)
        except GraphQLError:
            pass
        yield


class ApiConventions(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._cost: int | None = None
        self._draw: Draw | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        stats = sqlstats.start() if context.settings.sql_stats_enabled else None
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            hide = context.settings.is_production
            result.errors = [coded(e, context.request_id, hide_suggestions=hide) for e in result.errors]
        if result is not None and context.completed_keys:
            await _attach_responses(context, result)
        self._stats = stats

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        # Limits first: a refused request touches neither the database nor the idempotency keys.
        refusal = await self._refusal(context)
        if refusal is not None:
            self.execution_context.result = ExecutionResult(data=None, errors=[refusal])
        elif context.idempotency_key and self.execution_context.operation_type is OperationType.MUTATION:
            ec = self.execution_context
            context.request_fingerprint = idempotency.fingerprint(
                "request", ec.query, ec.operation_name, ec.variables or {}
            )
            replay = await _stored_replay(context)
            if replay is not None:
                # The first attempt's exact response; nothing is executed, nothing written.
                self.execution_context.result = replay
        yield

    async def _refusal(self, context: Any) -> ApiError | None:
        """QUERY_TOO_COMPLEX over the cost limit, else RATE_LIMITED when the bucket cannot pay."""
        ec = self.execution_context
        settings = context.settings
        assert ec.graphql_document is not None
        cost = self._cost = query_cost(
            ec.schema._schema, ec.graphql_document, operation_name=ec.operation_name, variables=ec.variables
        )
        if cost > settings.graphql_max_cost:
            return ApiError(
                f"This query costs {cost}, more than the limit of {settings.graphql_max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                code=ErrorCode.QUERY_TOO_COMPLEX,
                cost=cost,
                maxCost=settings.graphql_max_cost,
            )
        bucket = TokenBucket(
            context.redis,
            prefix=settings.redis_key_prefix,
            capacity=settings.rate_limit_bucket,
            refill_per_second=settings.rate_limit_refill_per_second,
        )
        draw = self._draw = await bucket.draw(rate_limit_identity(context.viewer, context.client_ip), cost)
        if draw.allowed:
            return None
        retry_after = draw.retry_after_header
        if context.response is not None:
            context.response.headers[RETRY_AFTER_HEADER] = str(retry_after)
        return ApiError(
            f"Rate limit exceeded: this query costs {cost} and your budget has "
            f"{max(0, math.floor(draw.available or 0))}; retry in {retry_after} s.",
            code=ErrorCode.RATE_LIMITED,
            retryAfter=retry_after,
            cost=cost,
        )

    def get_results(self) -> dict[str, Any]:
        results: dict[str, Any] = {"cost": self._cost_report()}
        stats = getattr(self, "_stats", None)
        if stats is not None:
            results.update(sqlStatements=stats.statements, sqlMs=stats.milliseconds)
        return results

    def _cost_report(self) -> dict[str, Any]:
        """Shopify's shape; unknown parts are null (not computed, or Redis not reachable)."""
        settings = self.execution_context.context.settings
        available = self._draw.available if self._draw is not None else None
        return {
            "requestedQueryCost": self._cost,
            "maxCost": settings.graphql_max_cost,
            "throttleStatus": {
                "maximumAvailable": settings.rate_limit_bucket,
                "currentlyAvailable": None if available is None else math.floor(available),
                "restoreRate": settings.rate_limit_refill_per_second,
            },
        }


async def _stored_replay(context: Any) -> ExecutionResult | None:
    """The stored response of a completed request with this header key, or a CONFLICT for other input."""
    async with context.write_session() as session:
        row = await idempotency.stored_response(
            session, scope=context.idempotency_scope, key=context.idempotency_key
        )
    if row is None or row.response is None or row.operation_name != REQUEST_OPERATION:
        return None
    if row.fingerprint != context.request_fingerprint:
        conflict = idempotency.IdempotencyConflict("This idempotency key was used with different input.")
        return ExecutionResult(data=None, errors=[conflict])
    if context.response is not None:
        context.response.headers[REPLAYED_HEADER] = "true"
    errors = [
        GraphQLError(e.get("message", ""), path=e.get("path"), extensions=e.get("extensions"))
        for e in row.response.get("errors") or []
    ]
    return ExecutionResult(data=row.response.get("data"), errors=errors or None)


async def _attach_responses(context: Any, result: ExecutionResult) -> None:
    """Store what this request answered on the keys it completed (best effort, after the writes)."""
    errors = [e.formatted for e in result.errors or []]
    try:
        async with context.write_session() as session:
            for row_id, response_key in context.completed_keys:
                if context.idempotency_key and response_key is not None and _single_field(result):
                    response: dict[str, Any] = {"data": result.data, "errors": errors or None}
                else:
                    data = None if result.data is None else {response_key: result.data.get(response_key)}
                    mine = [e for e in errors if (e.get("path") or [None])[0] == response_key]
                    response = {"data": data, "errors": mine or None}
                await idempotency.attach_response(session, row_id=row_id, response=response)
    except Exception:  # noqa: BLE001 - the write is committed; a replay rebuilds the answer by reading
        log.warning(
            "could not attach the idempotent response (request %s)", context.request_id, exc_info=True
        )


def _single_field(result: ExecutionResult) -> bool:
    return result.data is not None and len(result.data) == 1
