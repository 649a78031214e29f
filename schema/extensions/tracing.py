"""A span per GraphQL operation, while tracing is on (core/tracing.py): `query Dashboard`, with the
operation's name (cut to a bounded length: clients choose it), type, cost and the codes of its errors.

Registered first in the schema's list, so its span is entered before every other extension's hook and
left after all of them: parse, validation, the cost and rate limit, execution, the snapshot's end and
the coding of errors all happen inside it (and the lines they log carry its trace id). Off, the
factory hands Strawberry one shared extension with no hooks: nothing runs per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from core.errors import SERVER_CONDITIONS, ErrorCode
from core.tracing import active_tracer, bounded_name
from schema.extensions.cost import query_cost

# Codes that mark the operation's span as failed: the server's, not the client's.
SERVER_ERROR_CODES = frozenset({ErrorCode.INTERNAL.value, *(code.value for code in SERVER_CONDITIONS)})
# Strawberry skips the hooks an extension does not define: this one costs nothing per operation.
_IDLE = SchemaExtension()


class OperationTracing(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        tracer = active_tracer()
        if tracer is None:  # tracing stopped since this operation's extensions were made
            yield
            return
        with tracer.start_as_current_span("graphql.operation") as span:
            yield
            ec = self.execution_context
            operation = _operation(ec.graphql_document, ec.operation_name)
            kind = operation.operation.value if operation is not None else "unknown"
            name = bounded_name(ec.operation_name)
            span.update_name(f"{kind} {name}")
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("graphql.operation.name", name)
            cost = self._cost(operation)
            if cost is not None:
                span.set_attribute("graphql.operation.cost", cost)
            codes = _error_codes(ec.result)
            if codes:
                span.set_attribute("graphql.error.codes", codes)
                if SERVER_ERROR_CODES.intersection(codes):
                    from opentelemetry.trace import Status, StatusCode

                    span.set_status(Status(StatusCode.ERROR, ",".join(codes)))

    def _cost(self, operation: OperationDefinitionNode | None) -> int | None:
        """What the cost extension charged (its computation is kept per document and variables)."""
        ec = self.execution_context
        if operation is None or ec.graphql_document is None or ec.pre_execution_errors:
            return None
        try:
            return query_cost(
                ec.schema._schema,
                ec.graphql_document,
                operation_name=ec.operation_name,
                variables=ec.variables,
            )
        except Exception:  # noqa: BLE001 - a span attribute never fails the operation
            return None


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            if name is None or (definition.name is not None and definition.name.value == name):
                return definition
    return None


def _error_codes(result: Any) -> list[str]:
    errors = getattr(result, "errors", None) or []
    return sorted({str((error.extensions or {}).get("code", "")) for error in errors} - {""})


def operation_tracing() -> SchemaExtension:
    """The extension of one operation: the tracing one while tracing runs, else the idle one."""
    return OperationTracing() if active_tracer() is not None else _IDLE
