"""Bulk score mutations (the ML service, admins): user-merchant affinities and best send times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ML_PIPELINE
from resolvers.ml import score_writes as writes
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, pk_of, run_mutation, stored_id
from schema.permissions import allow

SCORE = "0 to 1."
BATCH = (
    f"Up to {writes.MAX_BATCH} rows. All are checked and written together, or none is: problems name "
    "the row, e.g. `{list}.3.{field}`. Each row replaces what was stored for its key."
)


@strawberry.input(description="How much one user likes one merchant.")
class MerchantAffinityInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    merchant_id: relay.GlobalID = strawberry.field(description="The merchant.")
    affinity_score: float = strawberry.field(description=f"Affinity, {SCORE}")
    interaction_count: int = strawberry.field(default=0, description="Interactions, 0 or more.")
    purchase_count: int = strawberry.field(default=0, description="Purchases, 0 or more.")
    avg_transaction_value: Decimal | None = strawberry.field(
        default=None, description="Average purchase in USD, 0 or more."
    )
    last_interaction_at: dt.datetime | None = strawberry.field(default=None, description="Last one (UTC).")


@strawberry.input(description="User-merchant affinities computed by the ML pipeline.")
class UpsertMerchantAffinitiesInput:
    scores: list[MerchantAffinityInput] = strawberry.field(
        description=BATCH.format(list="scores", field="affinityScore")
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="When one user best reads messages.")
class OptimalSendTimeInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    optimal_hour: int = strawberry.field(description="Hour of day, 0 to 23 (UTC).")
    optimal_day_of_week: int = strawberry.field(description="Day of week, 0 (Sunday) to 6.")
    confidence_score: float | None = strawberry.field(default=None, description=f"Confidence, {SCORE}")
    open_rate_morning: float | None = strawberry.field(
        default=None, description=f"Morning open rate, {SCORE}"
    )
    open_rate_afternoon: float | None = strawberry.field(
        default=None, description=f"Afternoon open rate, {SCORE}"
    )
    open_rate_evening: float | None = strawberry.field(
        default=None, description=f"Evening open rate, {SCORE}"
    )
    engagement_score: float | None = strawberry.field(default=None, description=f"Engagement, {SCORE}")


@strawberry.input(description="Best send times computed by the ML pipeline, one per user.")
class UpsertOptimalSendTimesInput:
    times: list[OptimalSendTimeInput] = strawberry.field(
        description=BATCH.format(list="times", field="optimalHour")
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="How many scores were stored, or why none was.")
class UpsertScoresPayload:
    upserted_count: int | None = strawberry.field(description="Rows inserted or replaced.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


async def _scores_payload(info: Ctx, operation: str, input: Any, write: Any) -> UpsertScoresPayload:
    # The value is the count the write stored.
    count, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=stored_id)
    return UpsertScoresPayload(upserted_count=count, user_errors=errors)


@strawberry.type
class MlScoreMutation:
    @strawberry.mutation(
        description="Store user-merchant affinities, all or none (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def upsert_merchant_affinities(
        self, info: Ctx, input: UpsertMerchantAffinitiesInput
    ) -> UpsertScoresPayload | None:
        rows = [
            writes.AffinityRow(
                user_id=pk_of(s.user_id, "User"),
                merchant_id=pk_of(s.merchant_id, "Merchant"),
                affinity_score=s.affinity_score,
                interaction_count=s.interaction_count,
                purchase_count=s.purchase_count,
                avg_transaction_value=s.avg_transaction_value,
                last_interaction_at=s.last_interaction_at,
            )
            for s in input.scores
        ]

        return await _scores_payload(
            info,
            "upsertMerchantAffinities",
            input,
            lambda session, actor: writes.upsert_affinities(session=session, rows=rows),
        )

    @strawberry.mutation(
        description="Store best send times per user, all or none (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def upsert_optimal_send_times(
        self, info: Ctx, input: UpsertOptimalSendTimesInput
    ) -> UpsertScoresPayload | None:
        rows = [
            writes.SendTimeRow(
                user_id=pk_of(t.user_id, "User"),
                optimal_hour=t.optimal_hour,
                optimal_day_of_week=t.optimal_day_of_week,
                confidence_score=t.confidence_score,
                open_rate_morning=t.open_rate_morning,
                open_rate_afternoon=t.open_rate_afternoon,
                open_rate_evening=t.open_rate_evening,
                engagement_score=t.engagement_score,
            )
            for t in input.times
        ]

        return await _scores_payload(
            info,
            "upsertOptimalSendTimes",
            input,
            lambda session, actor: writes.upsert_send_times(session=session, rows=rows),
        )
