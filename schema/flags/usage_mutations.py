"""Flag usage mutations: the flag checks the apps made, stored raw for the daily rollup."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import EVENT_REPORTERS
from resolvers.flags import usage_writes as usage
from schema.analytics.mutations import WINDOW, check_batch_size
from schema.flags.evaluation_types import AppType
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, not_an_id, pk_of, run_mutation, stored_id
from schema.permissions import allow


@strawberry.input(description="One flag check the app made.")
class FlagCheckInput:
    flag_key: str = strawberry.field(description="Key of the flag checked.")
    app_type: AppType = strawberry.field(description="Which app checked it.")
    accessed_at: dt.datetime = strawberry.field(description=f"When: {WINDOW}")
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The user (services only; a customer's checks are always their own)."
    )
    session_id: str | None = strawberry.field(default=None, description="The app session (up to 128).")
    value_used: bool | None = strawberry.field(default=None, description="Whether the flag was on.")
    variant_key: str | None = strawberry.field(default=None, description="The variant served (up to 100).")
    response_time_ms: float | None = strawberry.field(
        default=None, description="How long the check took, 0 to 60000 ms."
    )
    cache_hit: bool | None = strawberry.field(default=None, description="Whether it came from a cache.")
    error: bool = strawberry.field(default=False, description="Whether it failed (the default was used).")


@strawberry.input(description=f"Up to {usage.MAX_CHECKS} flag checks, stored all or none.")
class RecordFlagUsageInput:
    events: list[FlagCheckInput] = strawberry.field(
        description=f"The checks; more than {usage.MAX_CHECKS} refuses the whole call."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="How many checks were stored, or why none were.")
class RecordFlagUsagePayload:
    recorded: int = strawberry.field(description="Checks stored (0 when there are user errors).")
    user_errors: list[UserError] = strawberry.field(
        description="Problems with the input, `field` naming the check: `events.3.flagKey`."
    )


def _check(index: int, data: FlagCheckInput, problems: list[UserError]) -> usage.FlagCheck:
    user_id = None
    if data.user_id is not None:
        user_id = pk_of(data.user_id, "User")
        if user_id is None:
            problems.extend(not_an_id(f"events.{index}.userId", "User"))
    return usage.FlagCheck(
        flag_key=data.flag_key,
        app_type=usage.AppType(data.app_type),
        accessed_at=data.accessed_at,
        user_id=user_id,
        session_id=data.session_id,
        value_used=data.value_used,
        variant_key=data.variant_key,
        response_time_ms=data.response_time_ms,
        cache_hit=data.cache_hit,
        error=data.error,
    )


@strawberry.type
class FlagUsageMutation:
    @strawberry.mutation(
        description="Store the flag checks an app made, all or none; `rollup-flag-usage` sums them daily.",
        permission_classes=[allow(EVENT_REPORTERS)],
    )
    async def record_flag_usage(
        self, info: Ctx, input: RecordFlagUsageInput
    ) -> RecordFlagUsagePayload | None:
        check_batch_size(len(input.events), usage.MAX_CHECKS)
        problems: list[UserError] = []
        checks = [_check(i, e, problems) for i, e in enumerate(input.events)]
        if problems:
            return RecordFlagUsagePayload(recorded=0, user_errors=problems)
        viewer, request_id = info.context.viewer, info.context.request_id

        recorded, errors = await run_mutation(
            info,
            operation="recordFlagUsage",
            input=input,
            write=lambda session, actor: usage.record_flag_usage(
                session=session,
                viewer=viewer,
                checks=checks,
                now=dt.datetime.now(dt.UTC),
                request_id=request_id,
            ),
            reread=stored_id,
        )
        return RecordFlagUsagePayload(recorded=recorded or 0, user_errors=errors)
