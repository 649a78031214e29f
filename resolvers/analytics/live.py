"""What `campaignMetrics` listens to and shows: one campaign's totals over a range, read again when
events or spend for it commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.changes import key_tag
from loaders.analytics import MetricTotals, TotalsByCampaignLoader
from loaders.campaigns import CampaignByIdLoader
from models.analytics import CampaignDailyMetrics
from resolvers.campaigns.live import campaign_tags


def metrics_tags(campaign_id: int) -> list[str]:
    """The campaign's daily rows (named by ingestion and spend writes, resolvers/analytics) and its own
    row: a status or owner change may end the viewer's right to see it."""
    daily = key_tag(CampaignDailyMetrics.__tablename__, "campaign_id", campaign_id)
    return [daily, *campaign_tags(campaign_id)]


async def visible_totals(context: Any, campaign_id: int, start: dt.date, end: dt.date) -> MetricTotals | None:
    """The campaign's totals over the range; None when the viewer may not see the campaign (the loader
    applies the row visibility of `campaign`)."""
    if await context.loader(CampaignByIdLoader).load(campaign_id) is None:
        return None
    return await context.loader(TotalsByCampaignLoader).load((campaign_id, start, end))  # type: ignore[no-any-return]
