"""Idempotent replay, the GraphQL side, in one place: which key covers a mutation field, claiming and
completing it in the mutation's transaction, replaying a whole request for an Idempotency-Key header,
and storing what each completed key answered. The key rows themselves are resolvers/idempotency.py.

Two kinds of key (README, "Retries"): an `idempotencyKey` input field covers its own mutation field, and
a retry rebuilds that field's answer by reading; the Idempotency-Key header covers a one-mutation
request, and a retry gets the first attempt's response exactly, without executing anything.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from core.context import RequestContext
from core.database import unavailability
from core.errors import BadUserInput
from resolvers import idempotency

log = logging.getLogger("swipesavvy.graphql")

REPLAYED_HEADER = "idempotent-replayed"
# operation_name of key rows taken by the Idempotency-Key header (whole-request replay).
REQUEST_OPERATION = "request"
# Never shown: ErrorCoding replaces it with the message of the code it gives the failure.
LOOKUP_FAILED = "The idempotency key could not be looked up."


@dataclasses.dataclass(frozen=True, slots=True)
class FieldKey:
    """The key that covers one mutation field, with the fingerprint its input must match."""

    key: str
    fingerprint: str
    label: str


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _mutation_fields(info: Info) -> int:
    operation = info.operation
    return len(operation.selection_set.selections) if isinstance(operation, OperationDefinitionNode) else 1


def key_for(info: Info, operation: str, input: Any) -> FieldKey | None:
    """The key that applies to this mutation field: its input's `idempotencyKey`, else the header."""
    field_key = getattr(input, "idempotency_key", None)
    if field_key:
        return FieldKey(field_key, idempotency.fingerprint(operation, _plain(input)), operation)
    context: RequestContext = info.context
    if not context.idempotency_key:
        return None
    if _mutation_fields(info) > 1:
        raise BadUserInput(
            "The Idempotency-Key header covers one mutation: give each mutation its own `idempotencyKey`.",
            field="Idempotency-Key",
        )
    return FieldKey(context.idempotency_key, context.request_fingerprint or "", REQUEST_OPERATION)


async def claim(session: Any, context: RequestContext, key: FieldKey) -> idempotency.Claim:
    """Take the key in the mutation's transaction (CONFLICT for other input or while it runs)."""
    return await idempotency.claim(
        session,
        scope=context.idempotency_scope,
        key=key.key,
        fingerprint=key.fingerprint,
        operation=key.label,
    )


async def complete(session: Any, info: Info, claim: idempotency.Claim, ref: tuple[str, int] | None) -> None:
    """Mark the key done with the reference of what was written; its response is attached later."""
    await idempotency.complete(session, claim=claim, ref=ref)
    response_key = info.path.key if isinstance(info.path.key, str) else None
    info.context.completed_keys.append((claim.row_id, response_key))


class IdempotentReplay(SchemaExtension):
    """Replays a header-keyed request that already completed, and stores the responses of the keys
    this request completed (listed before ErrorCoding, so what it stores is coded)."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        if result is not None and context.completed_keys:
            await _attach_responses(context, result)

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        # A request refused before execution (cost, rate limit) already has its result.
        if ec.result is None and context.idempotency_key and ec.operation_type is OperationType.MUTATION:
            context.request_fingerprint = idempotency.fingerprint(
                REQUEST_OPERATION, ec.query, ec.operation_name, ec.variables or {}
            )
            try:
                replay = await _stored_replay(context)
            except Exception as exc:  # noqa: BLE001 - answered like a failed field: coded, never the text
                # Nothing ran: PostgreSQL away is SERVICE_UNAVAILABLE (ErrorCoding), anything else INTERNAL.
                replay = ExecutionResult(data=None, errors=[GraphQLError(LOOKUP_FAILED, original_error=exc)])
            if replay is not None:
                # The first attempt's exact response; nothing is executed, nothing written.
                ec.result = replay
        yield


async def _stored_replay(context: RequestContext) -> ExecutionResult | None:
    """The stored response of a completed request with this header key, or a CONFLICT for other input."""
    row = await idempotency.stored_response(context, key=context.idempotency_key or "")
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


async def _attach_responses(context: RequestContext, result: ExecutionResult) -> None:
    """Store what this request answered on the keys it completed (best effort, after the writes)."""
    errors = [e.formatted for e in result.errors or []]
    responses: dict[int, dict[str, Any]] = {}
    for row_id, response_key in context.completed_keys:
        if context.idempotency_key and response_key is not None and _single_field(result):
            responses[row_id] = {"data": result.data, "errors": errors or None}
        else:
            data = None if result.data is None else {response_key: result.data.get(response_key)}
            mine = [e for e in errors if (e.get("path") or [None])[0] == response_key]
            responses[row_id] = {"data": data, "errors": mine or None}
    try:
        await idempotency.attach_responses(context, responses)
    except Exception as exc:  # noqa: BLE001 - the write is committed; a replay rebuilds the answer by reading
        reason = unavailability(exc)
        # The database going away now is expected: one line; anything else gets its traceback.
        log.warning("could not attach the idempotent response: %s", reason or exc, exc_info=reason is None)


def _single_field(result: ExecutionResult) -> bool:
    return result.data is not None and len(result.data) == 1
