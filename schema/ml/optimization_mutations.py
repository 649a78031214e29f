"""Campaign advice mutations (marketers, admins): a recommendation, and marking it implemented."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ML_ADVISERS
from loaders.ml import CampaignOptimizationByIdLoader
from models import ml as m
from resolvers.ml import optimization_writes as writes
from schema.ml.score_mutations import SCORE
from schema.ml.types import CampaignOptimization, Effort, RecommendationType
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

# Advice is as visible as its campaign; its writers (marketers, admins) see every campaign.
REREAD = by_id(CampaignOptimizationByIdLoader)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A recommendation that was put in place.")
class MarkOptimizationImplementedInput:
    id: relay.GlobalID = strawberry.field(description="The recommendation (CampaignOptimization).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The recommendation as written, or why nothing was written.")
class CampaignOptimizationPayload:
    campaign_optimization: CampaignOptimization | None = strawberry.field(
        description="The recommendation after the change."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


async def _optimization_payload(
    info: Ctx, operation: str, input: Any, write: Any
) -> CampaignOptimizationPayload:
    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=REREAD)
    value = None if row is None else CampaignOptimization.from_row(row)
    return CampaignOptimizationPayload(campaign_optimization=value, user_errors=errors)


@strawberry.type
class CampaignOptimizationMutation:
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
                campaign_optimization=None, user_errors=not_an_id("campaignId", "Campaign")
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

        write = partial(writes.create_optimization, data=data)
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
                campaign_optimization=None, user_errors=not_an_id("id", "CampaignOptimization")
            )

        write = partial(writes.mark_implemented, optimization_id=optimization_id, now=dt.datetime.now(dt.UTC))
        return await _optimization_payload(info, "markOptimizationImplemented", input, write)
