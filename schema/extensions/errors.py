"""Every error of a response carries a code and the request id; nothing unexpected shows its text."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from core.errors import ErrorCode

log = logging.getLogger("swipesavvy.graphql")

INTERNAL_MESSAGE = "Internal server error."
# Exceptions raised while converting client input: the client's fault, not ours.
INPUT_ERRORS = (InvalidGlobalIDError, GlobalIDValueError)
# graphql-core appends its suggestions ("Did you mean 'flags'?") at the end of a message.
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


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


class ErrorCoding(SchemaExtension):
    """Codes the response's errors once the operation has run (listed last: its exit runs first, so
    the other extensions see coded errors)."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        if result is not None and result.errors:
            hide = context.settings.is_production
            result.errors = [coded(e, context.request_id, hide_suggestions=hide) for e in result.errors]
