"""Analytics mutations: campaign events from the apps and campaign spend into the metric tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from core.context import Ctx
from core.errors import BadUserInput
from core.policies import EVENT_REPORTERS, SPEND_WRITERS
from loaders.analytics import DailyMetricsByIdLoader
from resolvers.analytics import events as incoming
from resolvers.analytics import spend_writes as spend
from resolvers.analytics import writes as ingestion
from resolvers.outcomes import ProblemCode
from schema.analytics.types import MetricDay
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, pk_of, run_mutation
from schema.permissions import allow

# The mobile app (signed-in customers) and backend services report what users saw and did; what
# each may report is resolvers/analytics/writes.py's rule.

CampaignEventType = strawberry.enum(
    incoming.CampaignEventType, description="What happened to a campaign in the app."
)
SpendMode = strawberry.enum(spend.SpendMode, description="How an amount changes a day's spend.")

WINDOW = (
    f"UTC; within the last {ingestion.MAX_AGE.days} days and at most "
    f"{int(ingestion.MAX_AHEAD.total_seconds() // 60)} minutes ahead."
)
# Spend writers are admins, marketers and services, who see every campaign's metrics unfiltered.
SPEND_REREAD = by_id(DailyMetricsByIdLoader)


@strawberry.input(description="One event the app saw.")
class CampaignEventInput:
    campaign_id: relay.GlobalID = strawberry.field(
        description=(
            "The campaign. Services: RUNNING, PAUSED or COMPLETED. The app: RUNNING and aimed at the "
            "signed-in customer; every other id gets the same NOT_FOUND, whether the campaign exists or not."
        )
    )
    type: CampaignEventType = strawberry.field(
        description="Impression, click or conversion; the app reports impressions and clicks only."
    )
    occurred_at: dt.datetime = strawberry.field(description=f"When it happened: {WINDOW}")
    segment: str | None = strawberry.field(
        default=None,
        description=(
            f"The user's segment (up to {incoming.SEGMENT_MAX}); only then it counts in segment metrics. "
            "From the app, a segment the customer is known to be in."
        ),
    )
    revenue: Decimal | None = strawberry.field(
        default=None,
        description=(
            f"Revenue of a CONVERSION, 0 to {incoming.MAX_EVENT_REVENUE:,} (2 decimals); services only."
        ),
    )
    client_event_id: str | None = strawberry.field(
        default=None,
        description=(
            f"The reporter's own id of this event (up to {incoming.CLIENT_EVENT_ID_MAX} characters, a "
            "UUID say): an event whose id was counted before is a duplicate and is not counted again."
        ),
    )


@strawberry.input(description=f"Up to {incoming.MAX_EVENTS} independent events.")
class RecordCampaignEventsInput:
    events: list[CampaignEventInput] = strawberry.field(
        description=f"The events; more than {incoming.MAX_EVENTS} refuses the whole call."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="How many events were kept, and why the others were not.")
class RecordCampaignEventsPayload:
    accepted: int = strawberry.field(description="Events counted in the metrics.")
    rejected: int = strawberry.field(description="Events refused; each has user errors.")
    duplicates: int = strawberry.field(
        description="Events whose clientEventId was counted before (a retry): not counted again, not errors."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Problems of rejected events, `field` naming the event: `events.3.campaignId`."
    )


@strawberry.input(description="Money spent on a campaign on one UTC day.")
class RecordCampaignSpendInput:
    campaign_id: relay.GlobalID = strawberry.field(description="The campaign (not ARCHIVED).")
    date: dt.date = strawberry.field(description="The UTC day, today or earlier.")
    amount: Decimal = strawberry.field(description="USD, 0 or more, 2 decimals.")
    mode: SpendMode = strawberry.field(
        default=spend.SpendMode.SET, description="SET replaces the day's spend, ADD adds to it."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The day's metrics after the spend was recorded, or why nothing was.")
class RecordCampaignSpendPayload:
    metrics: MetricDay | None = strawberry.field(description="The campaign's day, with its new spend.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _event(data: CampaignEventInput) -> incoming.CampaignEvent:
    return incoming.CampaignEvent(
        campaign_id=pk_of(data.campaign_id, "Campaign"),
        type=incoming.CampaignEventType(data.type),
        occurred_at=data.occurred_at,
        segment=data.segment,
        revenue=data.revenue,
        client_event_id=data.client_event_id,
    )


def check_batch_size(count: int, limit: int) -> None:
    """Refuse the whole call when a batch holds more than `limit` events."""
    if count > limit:
        raise BadUserInput(f"At most {limit} events per call; split the batch.", field="events")


@strawberry.type
class AnalyticsMutation:
    @strawberry.mutation(
        description=(
            "Count impressions and clicks from the app (a signed-in customer: running campaigns aimed at "
            "them, a bounded number per campaign and UTC day) and any event, conversions and revenue "
            "included, from services. Events are independent: refused ones are reported by index in "
            "userErrors and the others are kept (the one exception to all-or-nothing)."
        ),
        permission_classes=[allow(EVENT_REPORTERS)],
    )
    async def record_campaign_events(
        self, info: Ctx, input: RecordCampaignEventsInput
    ) -> RecordCampaignEventsPayload | None:
        check_batch_size(len(input.events), incoming.MAX_EVENTS)
        events = [_event(e) for e in input.events]
        per_user_day = info.context.settings.analytics_user_events_per_campaign_day

        result, errors = await run_mutation(
            info,
            operation="recordCampaignEvents",
            input=input,
            write=lambda session, actor: ingestion.record_campaign_events(
                session=session,
                reporter=actor.viewer,
                events=events,
                now=dt.datetime.now(dt.UTC),
                per_user_day=per_user_day,
            ),
            reread=ingestion.stored_batch,
        )
        if result is None:
            return RecordCampaignEventsPayload(
                accepted=0, rejected=len(events), duplicates=0, user_errors=errors
            )
        return RecordCampaignEventsPayload(
            accepted=result.accepted,
            rejected=result.rejected,
            duplicates=result.duplicates,
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

        mode = spend.SpendMode(input.mode)
        row, errors = await run_mutation(
            info,
            operation="recordCampaignSpend",
            input=input,
            write=lambda session, actor: spend.record_campaign_spend(
                session=session,
                actor=actor,
                campaign_id=campaign_id,
                day=input.date,
                amount=input.amount,
                mode=mode,
                today=dt.datetime.now(dt.UTC).date(),
            ),
            reread=SPEND_REREAD,
        )
        return RecordCampaignSpendPayload(
            metrics=None if row is None else MetricDay.from_row(row), user_errors=errors
        )
