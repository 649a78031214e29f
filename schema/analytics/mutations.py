"""Ingestion mutations: campaign events and spend into the analytics tables, flag usage reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.context import Ctx
from core.errors import BadUserInput
from core.policies import EVENT_REPORTERS, SPEND_WRITERS
from models.analytics import CampaignDailyMetrics
from resolvers.analytics import writes as ingestion
from resolvers.audit import Actor
from resolvers.flags import usage_writes as usage
from resolvers.outcomes import Outcome, ProblemCode
from schema.analytics.types import MetricDay
from schema.flags.evaluation_types import AppType
from schema.mutation_runner import IDEMPOTENCY_KEY_DESCRIPTION, UserError, pk_of, run_mutation
from schema.permissions import allow

# The mobile app (signed-in customers) and backend services report what users saw and did.

CampaignEventType = strawberry.enum(
    ingestion.CampaignEventType, description="What happened to a campaign in the app."
)
SpendMode = strawberry.enum(ingestion.SpendMode, description="How an amount changes a day's spend.")

WINDOW = (
    f"UTC; within the last {ingestion.MAX_AGE.days} days and at most "
    f"{int(ingestion.MAX_AHEAD.total_seconds() // 60)} minutes ahead."
)


@strawberry.input(description="One event the app saw.")
class CampaignEventInput:
    campaign_id: relay.GlobalID = strawberry.field(
        description="The campaign (RUNNING, PAUSED or COMPLETED; others are rejected)."
    )
    type: CampaignEventType = strawberry.field(description="Impression, click or conversion.")
    occurred_at: dt.datetime = strawberry.field(description=f"When it happened: {WINDOW}")
    segment: str | None = strawberry.field(
        default=None, description="The user's segment (up to 100); only then it counts in segment metrics."
    )
    revenue: Decimal | None = strawberry.field(
        default=None, description="Revenue of a CONVERSION, 0 to 1,000,000.00 (2 decimals)."
    )


@strawberry.input(description=f"Up to {ingestion.MAX_EVENTS} independent events.")
class RecordCampaignEventsInput:
    events: list[CampaignEventInput] = strawberry.field(
        description=f"The events; more than {ingestion.MAX_EVENTS} refuses the whole call."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="How many events were kept, and why the others were not.")
class RecordCampaignEventsPayload:
    accepted: int = strawberry.field(description="Events counted in the metrics.")
    rejected: int = strawberry.field(description="Events refused; each has user errors.")
    user_errors: list[UserError] = strawberry.field(
        description="Problems of rejected events, `field` naming the event: `events.3.campaignId`."
    )


@strawberry.input(description="Money spent on a campaign on one UTC day.")
class RecordCampaignSpendInput:
    campaign_id: relay.GlobalID = strawberry.field(description="The campaign (not ARCHIVED).")
    date: dt.date = strawberry.field(description="The UTC day, today or earlier.")
    amount: Decimal = strawberry.field(description="USD, 0 or more, 2 decimals.")
    mode: SpendMode = strawberry.field(
        default=ingestion.SpendMode.SET, description="SET replaces the day's spend, ADD adds to it."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="The day's metrics after the spend was recorded, or why nothing was.")
class RecordCampaignSpendPayload:
    metrics: MetricDay | None = strawberry.field(description="The campaign's day, with its new spend.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="How many checks were stored, or why none were.")
class RecordFlagUsagePayload:
    recorded: int = strawberry.field(description="Checks stored (0 when there are user errors).")
    user_errors: list[UserError] = strawberry.field(
        description="Problems with the input, `field` naming the check: `events.3.flagKey`."
    )


def _event(data: CampaignEventInput) -> ingestion.CampaignEvent:
    return ingestion.CampaignEvent(
        campaign_id=pk_of(data.campaign_id, "Campaign"),
        type=ingestion.CampaignEventType(data.type),
        occurred_at=data.occurred_at,
        segment=data.segment,
        revenue=data.revenue,
    )


def _check(index: int, data: FlagCheckInput, problems: list[UserError]) -> usage.FlagCheck:
    user_id = None
    if data.user_id is not None:
        user_id = pk_of(data.user_id, "User")
        if user_id is None:
            problems.append(
                UserError(
                    field=f"events.{index}.userId", message="Not a User id.", code=ProblemCode.NOT_FOUND
                )
            )
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


def _too_many(count: int, limit: int) -> None:
    if count > limit:
        raise BadUserInput(f"At most {limit} events per call; split the batch.", field="events")


@strawberry.type
class IngestionMutation:
    @strawberry.mutation(
        description=(
            "Count impressions, clicks and conversions from the app. Events are independent: invalid "
            "ones are reported by index in userErrors and the valid ones are kept (the one exception to "
            "all-or-nothing)."
        ),
        permission_classes=[allow(EVENT_REPORTERS)],
    )
    async def record_campaign_events(
        self, info: Ctx, input: RecordCampaignEventsInput
    ) -> RecordCampaignEventsPayload | None:
        _too_many(len(input.events), ingestion.MAX_EVENTS)
        events = [_event(e) for e in input.events]

        async def write(session: AsyncSession, actor: Actor) -> Outcome[ingestion.IngestResult]:
            now = dt.datetime.now(dt.UTC)
            return await ingestion.record_campaign_events(session=session, events=events, now=now)

        async def reread(session: AsyncSession, ref: dict[str, Any]) -> ingestion.IngestResult:
            return ingestion.result_of_ref(int(ref["id"]))

        result, errors = await run_mutation(
            info, operation="recordCampaignEvents", input=input, write=write, reread=reread
        )
        if result is None:
            return RecordCampaignEventsPayload(accepted=0, rejected=len(events), user_errors=errors)
        return RecordCampaignEventsPayload(
            accepted=result.accepted,
            rejected=result.rejected,
            user_errors=[UserError.from_problem(p) for p in result.problems],
        )

    @strawberry.mutation(
        description="Set or add to a campaign's spend of one UTC day (audited).",
        permission_classes=[allow(SPEND_WRITERS)],
    )
    async def record_campaign_spend(
        self, info: Ctx, input: RecordCampaignSpendInput
    ) -> RecordCampaignSpendPayload | None:
        campaign_id = pk_of(input.campaign_id, "Campaign")
        if campaign_id is None:
            missing = UserError(field="campaignId", message="Not a Campaign id.", code=ProblemCode.NOT_FOUND)
            return RecordCampaignSpendPayload(metrics=None, user_errors=[missing])

        async def write(session: AsyncSession, actor: Actor) -> Outcome[CampaignDailyMetrics]:
            return await ingestion.record_campaign_spend(
                session=session,
                actor=actor,
                campaign_id=campaign_id,
                day=input.date,
                amount=input.amount,
                mode=ingestion.SpendMode(input.mode),
                today=dt.datetime.now(dt.UTC).date(),
            )

        async def reread(session: AsyncSession, ref: dict[str, Any]) -> CampaignDailyMetrics | None:
            statement = select(CampaignDailyMetrics).where(CampaignDailyMetrics.id == ref["id"])
            return await session.scalar(statement.execution_options(populate_existing=True))

        row, errors = await run_mutation(
            info, operation="recordCampaignSpend", input=input, write=write, reread=reread
        )
        return RecordCampaignSpendPayload(
            metrics=None if row is None else MetricDay.from_row(row), user_errors=errors
        )

    @strawberry.mutation(
        description="Store the flag checks an app made, all or none; `rollup-flag-usage` sums them daily.",
        permission_classes=[allow(EVENT_REPORTERS)],
    )
    async def record_flag_usage(
        self, info: Ctx, input: RecordFlagUsageInput
    ) -> RecordFlagUsagePayload | None:
        _too_many(len(input.events), usage.MAX_CHECKS)
        problems: list[UserError] = []
        checks = [_check(i, e, problems) for i, e in enumerate(input.events)]
        if problems:
            return RecordFlagUsagePayload(recorded=0, user_errors=problems)
        viewer, request_id = info.context.viewer, info.context.request_id

        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            now = dt.datetime.now(dt.UTC)
            return await usage.record_flag_usage(
                session=session, viewer=viewer, checks=checks, now=now, request_id=request_id
            )

        async def reread(session: AsyncSession, ref: dict[str, Any]) -> int:
            return int(ref["id"])

        recorded, errors = await run_mutation(
            info, operation="recordFlagUsage", input=input, write=write, reread=reread
        )
        return RecordFlagUsagePayload(recorded=recorded or 0, user_errors=errors)
