"""ML mutations: model versions and bulk scores (the ML service, admins), campaign advice (marketers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.context import Ctx
from core.policies import ML_ADVISERS, ML_PIPELINE
from models import ml as m
from resolvers.audit import Actor
from resolvers.ml import writes
from resolvers.outcomes import Outcome, ProblemCode
from schema.ml.types import CampaignOptimization, Effort, MlModel, ModelType, RecommendationType
from schema.mutation_runner import IDEMPOTENCY_KEY_DESCRIPTION, UserError, pk_of, run_mutation
from schema.permissions import allow

SCORE = "0 to 1."
BATCH = (
    f"Up to {writes.MAX_BATCH} rows. All are checked and written together, or none is: problems name "
    "the row, e.g. `{list}.3.{field}`. Each row replaces what was stored for its key."
)


@strawberry.input(description="A trained model version to register.")
class UploadModelVersionInput:
    name: str = strawberry.field(description="Model name (up to 255).")
    model_type: ModelType = strawberry.field(description="What it predicts.")
    version: str = strawberry.field(description="Version, unique per name (up to 50), e.g. 1.2.0.")
    training_date: dt.datetime = strawberry.field(description="When training finished (UTC, not future).")
    accuracy: float | None = strawberry.field(default=None, description=f"Accuracy, {SCORE}")
    precision: float | None = strawberry.field(default=None, description=f"Precision, {SCORE}")
    recall: float | None = strawberry.field(default=None, description=f"Recall, {SCORE}")
    f1_score: float | None = strawberry.field(default=None, description=f"F1 score, {SCORE}")
    auc_score: float | None = strawberry.field(default=None, description=f"ROC AUC, {SCORE}")
    feature_count: int | None = strawberry.field(default=None, description="Number of features, 0 or more.")
    training_samples: int | None = strawberry.field(default=None, description="Training set size, 0 or more.")
    model_path: str | None = strawberry.field(default=None, description="Where the artefact is (up to 500).")
    activate: bool = strawberry.field(
        default=False,
        description="Make it the ACTIVE version of its type, deprecating the current one (else TRAINING).",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A model version to make the active one of its type (e.g. to roll back).")
class ActivateModelVersionInput:
    id: relay.GlobalID = strawberry.field(description="The model version (MlModel).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A recommendation to improve a campaign.")
class CreateCampaignOptimizationInput:
    campaign_id: relay.GlobalID = strawberry.field(description="The campaign.")
    recommendation_type: RecommendationType = strawberry.field(description="What it changes.")
    recommendation_text: str = strawberry.field(description="The advice (1-5000 characters).")
    confidence_score: float = strawberry.field(description=f"Confidence, {SCORE}")
    potential_uplift_percent: float | None = strawberry.field(
        default=None, description="Expected improvement, percent (-100 to 1000)."
    )
    implementation_effort: Effort | None = strawberry.field(default=None, description="Effort to implement.")
    priority: int = strawberry.field(default=5, description="1 (most urgent) to 10.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A recommendation that was put in place.")
class MarkOptimizationImplementedInput:
    id: relay.GlobalID = strawberry.field(description="The recommendation (CampaignOptimization).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="The model version as written, or why nothing was written.")
class MlModelPayload:
    model: MlModel | None = strawberry.field(description="The model version after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="How many scores were stored, or why none was.")
class UpsertScoresPayload:
    upserted_count: int | None = strawberry.field(description="Rows inserted or replaced.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The recommendation as written, or why nothing was written.")
class CampaignOptimizationPayload:
    campaign_optimization: CampaignOptimization | None = strawberry.field(
        description="The recommendation after the change."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _not(field: str, type_name: str) -> list[UserError]:
    return [UserError(field=field, message=f"Not a {type_name} id.", code=ProblemCode.NOT_FOUND)]


async def _model_payload(info: Ctx, operation: str, input: Any, write: Any) -> MlModelPayload:
    async def reread(session: AsyncSession, ref: dict[str, Any]) -> m.MLModel | None:
        return await session.get(m.MLModel, ref["id"])

    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    return MlModelPayload(model=None if row is None else MlModel.from_row(row), user_errors=errors)


async def _scores_payload(info: Ctx, operation: str, input: Any, write: Any) -> UpsertScoresPayload:
    async def reread(session: AsyncSession, ref: dict[str, Any]) -> int:
        return int(ref["id"])

    count, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    return UpsertScoresPayload(upserted_count=count, user_errors=errors)


async def _optimization_payload(
    info: Ctx, operation: str, input: Any, write: Any
) -> CampaignOptimizationPayload:
    async def reread(session: AsyncSession, ref: dict[str, Any]) -> m.CampaignOptimization | None:
        return await session.get(m.CampaignOptimization, ref["id"])

    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    value = None if row is None else CampaignOptimization.from_row(row)
    return CampaignOptimizationPayload(campaign_optimization=value, user_errors=errors)


@strawberry.type
class MlMutation:
    @strawberry.mutation(
        description="Register a trained model version, optionally activating it (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def upload_model_version(self, info: Ctx, input: UploadModelVersionInput) -> MlModelPayload | None:
        data = writes.ModelFields(
            name=input.name,
            model_type=m.ModelType(input.model_type),
            version=input.version,
            training_date=input.training_date,
            accuracy=input.accuracy,
            precision=input.precision,
            recall=input.recall,
            f1_score=input.f1_score,
            auc_score=input.auc_score,
            feature_count=input.feature_count,
            training_samples=input.training_samples,
            model_path=input.model_path,
        )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.MLModel]:
            return await writes.upload_model_version(
                session=session, actor=actor, data=data, activate=input.activate, now=dt.datetime.now(dt.UTC)
            )

        return await _model_payload(info, "uploadModelVersion", input, write)

    @strawberry.mutation(
        description="Make a model version the active one of its type (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def activate_model_version(
        self, info: Ctx, input: ActivateModelVersionInput
    ) -> MlModelPayload | None:
        model_id = pk_of(input.id, "MlModel")
        if model_id is None:
            return MlModelPayload(model=None, user_errors=_not("id", "MlModel"))

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.MLModel]:
            return await writes.activate_model_version(session=session, actor=actor, model_id=model_id)

        return await _model_payload(info, "activateModelVersion", input, write)

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

        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            return await writes.upsert_affinities(session=session, rows=rows)

        return await _scores_payload(info, "upsertMerchantAffinities", input, write)

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

        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            return await writes.upsert_send_times(session=session, rows=rows)

        return await _scores_payload(info, "upsertOptimalSendTimes", input, write)

    @strawberry.mutation(
        description="Record a recommendation for a campaign (marketers, admins).",
        permission_classes=[allow(ML_ADVISERS)],
    )
    async def create_campaign_optimization(
        self, info: Ctx, input: CreateCampaignOptimizationInput
    ) -> CampaignOptimizationPayload | None:
        campaign_id = pk_of(input.campaign_id, "Campaign")
        if campaign_id is None:
            return CampaignOptimizationPayload(
                campaign_optimization=None, user_errors=_not("campaignId", "Campaign")
            )
        data = writes.OptimizationFields(
            campaign_id=campaign_id,
            recommendation_type=m.RecommendationType(input.recommendation_type),
            recommendation_text=input.recommendation_text,
            confidence_score=input.confidence_score,
            potential_uplift_percent=input.potential_uplift_percent,
            implementation_effort=None
            if input.implementation_effort is None
            else m.Effort(input.implementation_effort),
            priority=input.priority,
        )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.CampaignOptimization]:
            return await writes.create_optimization(session=session, actor=actor, data=data)

        return await _optimization_payload(info, "createCampaignOptimization", input, write)

    @strawberry.mutation(
        description="Mark a recommendation implemented; already implemented ones are returned unchanged "
        "(marketers, admins).",
        permission_classes=[allow(ML_ADVISERS)],
    )
    async def mark_optimization_implemented(
        self, info: Ctx, input: MarkOptimizationImplementedInput
    ) -> CampaignOptimizationPayload | None:
        optimization_id = pk_of(input.id, "CampaignOptimization")
        if optimization_id is None:
            return CampaignOptimizationPayload(
                campaign_optimization=None, user_errors=_not("id", "CampaignOptimization")
            )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.CampaignOptimization]:
            return await writes.mark_implemented(
                session=session, actor=actor, optimization_id=optimization_id, now=dt.datetime.now(dt.UTC)
            )

        return await _optimization_payload(info, "markOptimizationImplemented", input, write)
