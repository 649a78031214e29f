"""Campaign loaders; every one applies the viewer's campaign visibility in its SQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loaders.base import Loader, many_per_key, one_per_key
from loaders.visibility import campaigns_visible_to
from models.campaigns import Campaign
from models.ml import CampaignOptimization


class CampaignByIdLoader(Loader[int, Campaign | None]):
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[Campaign | None]:
        query = select(Campaign).where(Campaign.id.in_(keys), campaigns_visible_to(self.viewer))
        return one_per_key(keys, await session.scalars(query), lambda r: r.id)


class OptimizationsByCampaignLoader(Loader[int, list[CampaignOptimization]]):
    # ix_campaign_optimizations_campaign_id; most urgent first.
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[list[CampaignOptimization]]:
        query = (
            select(CampaignOptimization)
            .join(Campaign, Campaign.id == CampaignOptimization.campaign_id)
            .where(CampaignOptimization.campaign_id.in_(keys), campaigns_visible_to(self.viewer))
            .order_by(CampaignOptimization.priority, CampaignOptimization.id)
        )
        return many_per_key(keys, await session.scalars(query), lambda r: r.campaign_id)
