"""Every response follows the API's conventions: coded errors, no leaked exception text, SQL cost."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError
from strawberry.types.graphql import OperationType

from core import sqlstats
from core.errors import ErrorCode
from resolvers import idempotency

log = logging.getLogger("swipesavvy.graphql")

INTERNAL_MESSAGE = "Internal server error."
REPLAYED_HEADER = "idempotent-replayed"
# operation_name of key rows taken by the Idempotency-Key header (whole-request replay).
REQUEST_OPERATION = "request"
# Exceptions raised while converting client input: the client's fault, not ours.
INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError)


def coded(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """Give the error its code and the request id; mask anything unexpected as INTERNAL."""
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    message = error.message
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


class ApiConventions(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        stats = sqlstats.start() if context.settings.sql_stats_enabled else None
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(e, context.request_id) for e in result.errors]
        if result is not None and context.completed_keys:
            await _attach_responses(context, result)
        self._stats = stats

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if context.idempotency_key and self.execution_context.operation_type is OperationType.MUTATION:
            ec = self.execution_context
            context.request_fingerprint = idempotency.fingerprint(
                "request", ec.query, ec.operation_name, ec.variables or {}
            )
            replay = await _stored_replay(context)
            if replay is not None:
                # The first attempt's exact response; nothing is executed, nothing written.
                self.execution_context.result = replay
        yield

    def get_results(self) -> dict[str, Any]:
        stats = getattr(self, "_stats", None)
        if stats is None:
            return {}
        return {"sqlStatements": stats.statements, "sqlMs": stats.milliseconds}


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
