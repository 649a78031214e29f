"""Every error of a response carries a code and the request id (and, while tracing runs, the trace
id: `traceId`); nothing unexpected shows its text.

Where an error arose decides its code when it has none yet: the parse (GRAPHQL_PARSE_FAILED), the
validation (GRAPHQL_VALIDATION_FAILED), which operation to run (OPERATION_RESOLUTION_FAILURE), the
variables and arguments (BAD_USER_INPUT). During execution a database that is away is
SERVICE_UNAVAILABLE and a statement past statement_timeout is TIMEOUT, with a message of ours (never
the driver's text, which quotes SQL); anything else unexpected is INTERNAL.

Logging: each coded error is one line without a traceback (INFO for the client's errors, WARNING
for the server's conditions); an INTERNAL error is logged once, with its traceback.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from core.database import statement_timed_out, unavailability
from core.errors import SERVER_CONDITIONS, SERVICE_UNAVAILABLE_MESSAGE, ApiError, ErrorCode
from core.tracing import current_trace_id

log = logging.getLogger("swipesavvy.graphql")

INTERNAL_MESSAGE = "Internal server error."
STATEMENT_TIMEOUT_MESSAGE = "The database took too long to answer and the statement was cancelled."
SEVERAL_OPERATIONS_MESSAGE = "The document holds several operations: say which to run with operationName."
# Exceptions raised while converting client input: the client's fault, not ours.
INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError)
# graphql-core appends its suggestions ("Did you mean 'flags'?") at the end of a message.
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


class Stage(enum.Enum):
    """Where an error arose, which names its code when it has none."""

    PARSE = ErrorCode.GRAPHQL_PARSE_FAILED
    VALIDATION = ErrorCode.GRAPHQL_VALIDATION_FAILED
    EXECUTION = ErrorCode.BAD_USER_INPUT


def _code_and_message(error: GraphQLError, stage: Stage) -> tuple[ErrorCode, str | None]:
    """The code an uncoded error gets, and the message that replaces its own (None: keep it)."""
    original = error.original_error
    if stage is not Stage.EXECUTION:
        # graphql-core's own report on the document, even when a literal's parser raised (a 100,000
        # digit Int is a ValueError inside the validation error).
        return stage.value, None
    if original is None or isinstance(original, (*INPUT_ERRORS, GraphQLError)):
        # Variable-coercion errors and argument errors (graphql-core wraps a bad enum value, say, as a
        # GraphQLError inside the located error).
        return stage.value, None
    if unavailability(original) is not None:
        return ErrorCode.SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE
    if statement_timed_out(original):
        return ErrorCode.TIMEOUT, STATEMENT_TIMEOUT_MESSAGE
    return ErrorCode.INTERNAL, INTERNAL_MESSAGE


def coded(
    error: GraphQLError,
    request_id: str | None,
    *,
    stage: Stage = Stage.EXECUTION,
    hide_suggestions: bool = False,
    retry_after: int | None = None,
    trace_id: str | None = None,
) -> GraphQLError:
    """Give the error its code and the request id, mask anything unexpected, and log it once.

    The original exception stays on the coded error (never in the response): transport reads it to
    decide whether a query may be retried.
    """
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    # In production the schema is not advertised: no "did you mean" for unknown fields, arguments,
    # types or enum values (Strawberry's own setting removes only the first kind, for every env).
    message = SUGGESTION.sub("", error.message) if hide_suggestions else error.message
    if "code" not in extensions:
        code, replacement = _code_and_message(error, stage)
        extensions["code"] = code.value
        message = replacement or message
        if code is ErrorCode.SERVICE_UNAVAILABLE and retry_after is not None:
            extensions["retryAfter"] = retry_after
    if request_id:
        extensions["requestId"] = request_id
    if trace_id:
        extensions["traceId"] = trace_id
    result = GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )
    _log(result, request_id)
    return result


def _log(error: GraphQLError, request_id: str | None) -> None:
    code = (error.extensions or {}).get("code")
    where = ".".join(str(part) for part in error.path) if error.path else "-"
    if code == ErrorCode.INTERNAL.value:
        log.error("unexpected error at %s (request %s)", where, request_id, exc_info=error.original_error)
        return
    level = logging.WARNING if code in SERVER_CONDITIONS else logging.INFO
    reason = unavailability(error.original_error)
    detail = f" ({reason})" if reason else ""
    log.log(level, "%s at %s: %s%s", code, where, error.message, detail)


def _operation_count(document: Any) -> int:
    definitions = getattr(document, "definitions", ())
    return sum(isinstance(d, OperationDefinitionNode) for d in definitions)


class ErrorCoding(SchemaExtension):
    """Codes the response's errors once the operation has run (listed last: its exit runs first, so
    the other extensions see coded errors); refuses a document of several operations that does not
    name the one to run (Strawberry would run the first)."""

    def __init__(self) -> None:
        super().__init__()
        self._requested_name: str | None = None
        self._validation_errors: set[int] = set()

    def on_operation(self) -> Iterator[None]:
        # Before parsing, Strawberry's operation_name is the client's own; afterwards it falls back
        # to the first operation's name.
        self._requested_name = self.execution_context.operation_name
        yield
        ec = self.execution_context
        context = ec.context
        result = ec.result
        if result is None or not result.errors:
            return
        settings = context.settings
        trace_id = current_trace_id()  # None while tracing is off: no id is invented
        result.errors = [
            coded(
                error,
                context.request_id,
                stage=self._stage(error),
                hide_suggestions=settings.is_production,
                retry_after=settings.service_unavailable_retry_after_s,
                trace_id=trace_id,
            )
            for error in result.errors
        ]

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        # Listed last, so the validation cache has already run: operation resolution comes after
        # validation, as in graphql-js and Apollo Server.
        if not ec.pre_execution_errors and self._requested_name is None:
            if _operation_count(ec.graphql_document) > 1:
                refusal = ApiError(SEVERAL_OPERATIONS_MESSAGE, code=ErrorCode.OPERATION_RESOLUTION_FAILURE)
                ec.pre_execution_errors = [refusal]
        yield
        self._validation_errors = {id(error) for error in ec.pre_execution_errors or []}

    def _stage(self, error: GraphQLError) -> Stage:
        if self.execution_context.graphql_document is None:
            return Stage.PARSE
        return Stage.VALIDATION if id(error) in self._validation_errors else Stage.EXECUTION
