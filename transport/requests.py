"""The operations a GraphQL-over-HTTP request carries: GET parameters (queries only) or a POST body
of one JSON object or a batch (a JSON array), each member checked as the spec says. An operation
naming a persisted query (`extensions.persistedQuery`) may come without its document: the
persisted-query step (transport/persisted.py) finds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request

from transport.media import JSON, HttpProblem

IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class Operation:
    # None only before the persisted-query step has found the document a hash names.
    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None = None


async def read_operations(request: Request, *, max_batch: int) -> tuple[list[Operation], bool]:
    """The request's operations, and whether they came as a batch."""
    if request.method == "GET":
        params = request.query_params
        operation = operation_of(
            {
                "query": params.get("query"),
                "operationName": params.get("operationName"),
                "variables": decode_json_param(params.get("variables"), "variables"),
                "extensions": decode_json_param(params.get("extensions"), "extensions"),
            }
        )
        return [operation], False
    body = await request.body()
    operations = decode_body(body, request.headers.get("content-type"), max_batch=max_batch)
    batched = body.lstrip()[:1] == b"["
    if batched and request.headers.get(IDEMPOTENCY_HEADER):
        raise HttpProblem(400, "The Idempotency-Key header applies to one operation, not a batch.")
    return operations, batched


def decode_body(body: bytes, content_type: str | None, *, max_batch: int) -> list[Operation]:
    """The operations of a POST body: one object, or a JSON array of at most `max_batch` of them."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != JSON:
        raise HttpProblem(415, "POST requests must have Content-Type application/json.")
    if not body:
        raise HttpProblem(400, "The request body is empty.")
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HttpProblem(400, "The request body is not valid JSON.") from exc
    if not isinstance(raw, list):
        return [operation_of(raw)]
    if not raw:
        raise HttpProblem(400, "A batched request must hold at least one operation.")
    if len(raw) > max_batch:
        raise HttpProblem(
            400, f"A batched request may hold at most {max_batch} operations.", maxBatchOperations=max_batch
        )
    return [operation_of(item) for item in raw]


def decode_json_param(value: str | None, member: str) -> Any:
    """A GET parameter that carries JSON (variables, extensions)."""
    if value is None or value == "":
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise HttpProblem(400, f"{member} is not valid JSON.") from exc


def operation_of(raw: Any) -> Operation:
    """Check one request's `query`, `operationName`, `variables` and `extensions` members."""
    if not isinstance(raw, dict):
        raise HttpProblem(400, "Each GraphQL request must be a JSON object.")
    query = raw.get("query")
    extensions = raw.get("extensions")
    names_persisted = isinstance(extensions, dict) and extensions.get("persistedQuery") is not None
    if query in (None, "") and names_persisted:
        query = None  # the hash alone: the persisted-query step looks the document up
    elif not isinstance(query, str) or not query:
        raise HttpProblem(400, "The request has no query string.")
    name = raw.get("operationName")
    if name is not None and not isinstance(name, str):
        raise HttpProblem(400, "operationName must be a string.")
    for member in ("variables", "extensions"):
        if raw.get(member) is not None and not isinstance(raw.get(member), dict):
            raise HttpProblem(400, f"{member} must be a JSON object.")
    return Operation(query=query, operation_name=name, variables=raw.get("variables"), extensions=extensions)


def refuse_mutation_over_get(operation: Operation) -> None:
    """GET runs queries only; checked once the document is known (a persisted query's hash names it)."""
    if _is_mutation(operation):
        raise HttpProblem(405, "Mutations must be sent with POST.")


def _operation_type(operation: Operation) -> OperationType | None:
    """What the operation to run is; None when execution will refuse the document or the name."""
    if operation.query is None:
        return None
    try:
        definition = get_operation_ast(parse(operation.query, no_location=True), operation.operation_name)
    except GraphQLError:
        return None  # execution reports the syntax error
    return None if definition is None else definition.operation


def _is_mutation(operation: Operation) -> bool:
    return _operation_type(operation) is OperationType.MUTATION


def is_query(operation: Operation) -> bool:
    """Whether the operation only reads, so running it again cannot write twice."""
    return _operation_type(operation) is OperationType.QUERY
