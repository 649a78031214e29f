"""The conventions every mutation follows: one transaction, typed userErrors, idempotent retries.

    value, errors = await run_mutation(
        info, operation="createCampaign", input=input,
        write=partial(writes.create_campaign, data=data), reread=by_id(CampaignByIdLoader),
    )

`write(session=..., actor=...)` is a resolvers function doing the work in the mutation's transaction;
it returns an Outcome, and problems roll the transaction back (nothing is written) and come back as
`userErrors`. The schema never holds the session: it names the function and its arguments. With an
idempotency key (the `idempotencyKey` input field, or the Idempotency-Key header for a one-mutation
request) a retry with the same input does not write again: it gets the stored response (header) or
the same answer rebuilt by `reread(context, ref)`, whose loaders run on the mutation's own session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from core.context import RequestContext
from core.policies import EVERYONE
from core.tracing import active_tracer, bounded_name
from resolvers.audit import Actor
from resolvers.outcomes import Outcome, Problem, ProblemCode
from schema.extensions import idempotency as idempotent
from schema.permissions import type_policy

T = TypeVar("T")
# Rebuilds a replayed mutation's value from the reference its write stored (`Outcome.ref`).
Reread = Callable[[RequestContext, dict[str, Any]], Awaitable[T | None]]

UserErrorCode = strawberry.enum(ProblemCode, name="UserErrorCode", description="Why an input was refused.")


@type_policy(EVERYONE)
@strawberry.type(description="A problem with the mutation's input; nothing was written.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault (camelCase), if one is.")
    message: str = strawberry.field(description="What is wrong, for people.")
    code: UserErrorCode = strawberry.field(description="What is wrong, for programs.")

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(field=_camel(problem.field), message=problem.message, code=problem.code)


def _camel(name: str | None) -> str | None:
    if name is None:
        return None
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class _Refused(Exception):
    """Raised inside the transaction to roll it back; carries the problems to report."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


async def run_mutation(
    info: Info,
    *,
    operation: str,
    input: Any,
    write: Callable[..., Awaitable[Outcome[T]]],
    reread: Reread[T] | None = None,
) -> tuple[T | None, list[UserError]]:
    """Run `write` in one transaction with the API's conventions; returns (value, userErrors)."""
    tracer = active_tracer()
    if tracer is None:
        return await _run(info, operation=operation, input=input, write=write, reread=reread)
    # The transaction's span: its statements, its commit and the after-commit dispatch are inside.
    with tracer.start_as_current_span(f"mutation.transaction {bounded_name(operation)}") as span:
        span.set_attribute("graphql.mutation", bounded_name(operation))
        value, errors = await _run(info, operation=operation, input=input, write=write, reread=reread)
        span.set_attribute("mutation.outcome", "refused" if errors else "committed")
        return value, errors


async def _run(
    info: Info,
    *,
    operation: str,
    input: Any,
    write: Callable[..., Awaitable[Outcome[T]]],
    reread: Reread[T] | None,
) -> tuple[T | None, list[UserError]]:
    ctx = info.context
    key = idempotent.key_for(info, operation, input)
    actor = Actor(viewer=ctx.viewer, ip_address=ctx.client_ip, request_id=ctx.request_id)
    try:
        async with ctx.write_transaction() as session:
            claim = None if key is None else await idempotent.claim(session, ctx, key)
            if claim is not None and claim.replayed:
                ref = claim.replay_ref or {}
                value = await reread(ctx.on_session(session), ref) if reread is not None and ref else None
                return value, []
            outcome = await write(session=session, actor=actor)
            if not outcome.ok:
                raise _Refused(outcome.problems)
            if claim is not None:
                await idempotent.complete(session, info, claim, outcome.ref)
            return outcome.value, []
    except _Refused as refused:
        return None, [UserError.from_problem(p) for p in refused.problems]


def by_id(loader: Callable[[RequestContext], Any]) -> Reread[Any]:
    """A reread through the domain's `…ByIdLoader`, from the id the write stored."""

    async def reread(context: RequestContext, ref: dict[str, Any]) -> Any:
        return await context.loader(loader).load(int(ref["id"]))

    return reread


async def stored_id(context: RequestContext, ref: dict[str, Any]) -> int:
    """A reread for mutations whose value is the id they wrote (deletions, counts)."""
    return int(ref["id"])


def not_an_id(field: str, type_name: str) -> list[UserError]:
    """The userErrors for a global id that is not one of `type_name` (reported NOT_FOUND)."""
    return [UserError(field=field, message=f"Not a {type_name} id.", code=ProblemCode.NOT_FOUND)]


def pk_of(gid: Any, type_name: str) -> int | None:
    """The database id inside a global id of `type_name`; None for another type (reported NOT_FOUND)."""
    if gid is None or getattr(gid, "type_name", None) != type_name:
        return None
    try:
        pk = int(gid.node_id)
    except ValueError:
        return None
    # Ids beyond BIGINT exist nowhere; letting them reach SQL would be a 500, not a NOT_FOUND.
    return pk if 0 < pk <= MAX_BIGINT else None


MAX_BIGINT = 2**63 - 1

IDEMPOTENCY_KEY_HELP = (
    "Makes retries safe: the same key with the same input within 24 hours is executed once "
    "(the Idempotency-Key header does the same for a one-mutation request)."
)
