"""Root fields of the analytics domain: campaign rankings and the dashboard's platform overview."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from core.context import Ctx
from core.policies import ANALYTICS_READERS, OVERVIEW_READERS
from resolvers.analytics import reads as analytics
from schema.analytics.types import (
    CampaignMetric,
    CampaignRanking,
    DateRangeInput,
    PerformanceSummary,
    PlatformOverview,
    resolve_range,
)
from schema.permissions import allow


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        description="Campaigns ranked by a metric over a range (default: the last 30 days), best first.",
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def top_campaigns(
        self,
        info: Ctx,
        metric: Annotated[CampaignMetric, strawberry.argument(description="What to rank by.")],
        range: DateRangeInput | None = None,
        first: Annotated[
            int, strawberry.argument(description=f"How many campaigns, 1 to {analytics.MAX_TOP}.")
        ] = analytics.DEFAULT_TOP,
    ) -> list[CampaignRanking] | None:
        start, end = resolve_range(range)
        return await CampaignRanking.top(info, metric, start, end, analytics.check_top_size(first=first))

    @strawberry.field(
        description="The dashboard home page over a range (default: the last 30 days); staff and services.",
        permission_classes=[allow(OVERVIEW_READERS)],
    )
    async def platform_overview(
        self, info: Ctx, range: DateRangeInput | None = None
    ) -> PlatformOverview | None:
        start, end = resolve_range(range)
        ctx = info.context
        o = await analytics.platform_overview(context=ctx, start=start, end=end, now=dt.datetime.now(dt.UTC))
        return PlatformOverview(
            start=start,
            end=end,
            active_campaigns=o.active_campaigns,
            totals=PerformanceSummary.from_totals(o.totals, start, end),
            running_experiments=o.running_experiments,
            enabled_flags=o.enabled_flags,
            stale_flags=o.stale_flags,
            new_users=o.new_users,
        )
