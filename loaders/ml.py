"""ML loaders: model versions and campaign optimisation advice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loaders.base import Loader, one_per_key
from loaders.visibility import campaigns_visible_to
from models.campaigns import Campaign
from models.ml import CampaignOptimization, MLModel


class CampaignOptimizationByIdLoader(Loader[int, CampaignOptimization | None]):
    # Advice is as private as its campaign: the campaign's visibility applies (merchants see their own).
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[CampaignOptimization | None]:
        query = (
            select(CampaignOptimization)
            .join(Campaign, Campaign.id == CampaignOptimization.campaign_id)
            .where(CampaignOptimization.id.in_(keys), campaigns_visible_to(self.viewer))
        )
        return one_per_key(keys, await session.scalars(query), lambda r: r.id)


class MlModelByIdLoader(Loader[int, MLModel | None]):
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[MLModel | None]:
        rows = await session.scalars(select(MLModel).where(MLModel.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)
