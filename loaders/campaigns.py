"""Campaign loaders; every one applies the viewer's campaign visibility in its SQL."""

from __future__ import annotations

from sqlalchemy import Row, select

from loaders.base import Loader, Reader, many_per_key, one_per_key
from loaders.ml import OPTIMIZATION_COLUMNS
from loaders.visibility import campaigns_visible_to
from models.campaigns import Campaign
from models.ml import CampaignOptimization

# What the Campaign type reads of a row: the loaders and the campaign list select these, nothing more.
CAMPAIGN_COLUMNS = (
    Campaign.id, Campaign.name, Campaign.description, Campaign.type, Campaign.status, Campaign.starts_at,
    Campaign.ends_at, Campaign.budget, Campaign.cashback_percent, Campaign.target_segment,
    Campaign.send_at_once, Campaign.created_at, Campaign.updated_at, Campaign.merchant_id,
)  # fmt: skip


class CampaignByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*CAMPAIGN_COLUMNS).where(Campaign.id.in_(keys), campaigns_visible_to(self.viewer))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class OptimizationsByCampaignLoader(Loader[int, list[Row]]):
    # ix_campaign_optimizations_campaign_id; most urgent first.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = (
            select(*OPTIMIZATION_COLUMNS)
            .join(Campaign, Campaign.id == CampaignOptimization.campaign_id)
            .where(CampaignOptimization.campaign_id.in_(keys), campaigns_visible_to(self.viewer))
            .order_by(CampaignOptimization.priority, CampaignOptimization.id)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.campaign_id)
