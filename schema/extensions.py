"""Every response follows the API's conventions: coded errors, no leaked exception text, SQL cost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from core import sqlstats
from core.errors import ErrorCode

log = logging.getLogger("swipesavvy.graphql")

INTERNAL_MESSAGE = "Internal server error."
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
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        stats = sqlstats.start() if context.settings.sql_stats_enabled else None
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(e, context.request_id) for e in result.errors]
        self._stats = stats

    def get_results(self) -> dict[str, Any]:
        stats = getattr(self, "_stats", None)
        if stats is None:
            return {}
        return {"sqlStatements": stats.statements, "sqlMs": stats.milliseconds}
