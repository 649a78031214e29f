"""ML loaders: model versions and campaign optimisation advice."""

from __future__ import annotations

from sqlalchemy import Row, select

from loaders.base import Loader, Reader, one_per_key
from loaders.visibility import campaigns_visible_to
from models.campaigns import Campaign
from models.ml import CampaignOptimization, MLModel

# What the GraphQL types read of a row (campaign_id groups advice by campaign).
OPTIMIZATION_COLUMNS = (
    CampaignOptimization.id, CampaignOptimization.campaign_id, CampaignOptimization.recommendation_type,
    CampaignOptimization.recommendation_text, CampaignOptimization.confidence_score,
    CampaignOptimization.potential_uplift_percent, CampaignOptimization.implementation_effort,
    CampaignOptimization.priority, CampaignOptimization.implemented, CampaignOptimization.implemented_at,
    CampaignOptimization.created_at,
)  # fmt: skip
ML_MODEL_COLUMNS = (
    MLModel.id, MLModel.name, MLModel.model_type, MLModel.version, MLModel.status, MLModel.training_date,
    MLModel.accuracy, MLModel.precision, MLModel.recall, MLModel.f1_score, MLModel.auc_score,
    MLModel.training_samples,
)  # fmt: skip


class CampaignOptimizationByIdLoader(Loader[int, Row | None]):
    # Advice is as private as its campaign: the campaign's visibility applies (merchants see their own).
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = (
            select(*OPTIMIZATION_COLUMNS)
            .join(Campaign, Campaign.id == CampaignOptimization.campaign_id)
            .where(CampaignOptimization.id.in_(keys), campaigns_visible_to(self.viewer))
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class MlModelByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        rows = await session.execute(select(*ML_MODEL_COLUMNS).where(MLModel.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)
