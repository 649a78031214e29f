"""GraphQL types of the campaigns domain: the campaign, its lifecycle and its relations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import CAMPAIGN_READERS, STAFF
from loaders.analytics import (
    DailyMetricsByCampaignLoader,
    SegmentTotalsByCampaignLoader,
    TotalsByCampaignLoader,
    TrendByCampaignLoader,
)
from loaders.campaigns import CampaignByIdLoader, OptimizationsByCampaignLoader
from loaders.merchants import MerchantByIdLoader
from models import campaigns as m
from resolvers.analytics.trends import check_trend_range
from schema.analytics.types import (
    ANALYTICS_READERS,
    DateRangeInput,
    MetricDay,
    PerformanceSummary,
    SegmentMetrics,
    TrendGranularity,
    TrendPoint,
    resolve_range,
)
from schema.caching.hints import cache_hint
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy

if TYPE_CHECKING:
    from schema.experiments.types import Experiment
    from schema.merchants.types import Merchant
    from schema.ml.types import CampaignOptimization
    from schema.notifications.sends import NotificationCounts


CampaignStatus = strawberry.enum(
    m.CampaignStatus, description="Lifecycle: DRAFT → SCHEDULED → RUNNING ⇄ PAUSED → COMPLETED → ARCHIVED."
)
CampaignType = strawberry.enum(m.CampaignType, description="How the campaign reaches users.")


@cache_hint(max_age=300)
@type_policy(CAMPAIGN_READERS)
@strawberry.federation.type(keys=["id"], description="A marketing campaign.")
class Campaign(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the campaign offers.")
    type: CampaignType = strawberry.field(description="Channel and mechanics.")
    status: CampaignStatus = strawberry.field(description="Where it is in its lifecycle.")
    starts_at: dt.datetime | None = strawberry.field(description="Start (UTC); null only for drafts.")
    ends_at: dt.datetime | None = strawberry.field(description="End (UTC); null only for drafts.")
    budget: Decimal = strawberry.field(description="Budget in USD.")
    cashback_percent: Decimal | None = strawberry.field(description="Extra cashback for CASHBACK campaigns.")
    target_segment: str | None = strawberry.field(description="Audience segment it targets.")
    send_at_once: bool = strawberry.field(
        description="Push and e-mail campaigns: everyone notified at start, not at each one's best time."
    )
    created_at: dt.datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")
    merchant_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Campaign) -> Campaign:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            type=m.CampaignType(row.type),
            status=m.CampaignStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            budget=row.budget,
            cashback_percent=row.cashback_percent,
            target_segment=row.target_segment,
            send_at_once=row.send_at_once,
            created_at=row.created_at,
            updated_at=row.updated_at,
            merchant_id=row.merchant_id,
        )

    by_id_loader = CampaignByIdLoader

    @strawberry.field(
        description="The merchant the campaign promotes, if any.",
        permission_classes=[allow(CAMPAIGN_READERS)],
    )
    async def merchant(
        self, info: Ctx
    ) -> Annotated[Merchant, strawberry.lazy("schema.merchants.types")] | None:
        from schema.merchants.types import Merchant

        if self.merchant_id is None:
            return None
        row = await info.context.loader(MerchantByIdLoader).load(self.merchant_id)
        return None if row is None else Merchant.from_row(row)

    @strawberry.field(description="A/B tests attached to the campaign.", permission_classes=[allow(STAFF)])
    async def experiments(
        self, info: Ctx
    ) -> list[Annotated[Experiment, strawberry.lazy("schema.experiments.types")]] | None:
        from loaders.experiments import ExperimentsByCampaignLoader
        from schema.experiments.types import Experiment

        rows = await info.context.loader(ExperimentsByCampaignLoader).load(self.id)
        return [Experiment.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "What became of the notifications of a push or e-mail campaign: scheduled, shown, opened, "
            "cancelled, and its deliveries per channel and state (no person named)."
        ),
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def notification_counts(
        self, info: Ctx
    ) -> Annotated[NotificationCounts, strawberry.lazy("schema.notifications.sends")] | None:
        from loaders.notifications import CountsByCampaignLoader
        from schema.notifications.sends import NotificationCounts

        return NotificationCounts.from_counts(await info.context.loader(CountsByCampaignLoader).load(self.id))

    @strawberry.field(
        description="Optimisation advice from the ML models, most urgent first.",
        permission_classes=[allow(CAMPAIGN_READERS)],
    )
    async def optimizations(
        self, info: Ctx
    ) -> list[Annotated[CampaignOptimization, strawberry.lazy("schema.ml.types")]] | None:
        from schema.ml.types import CampaignOptimization

        rows = await info.context.loader(OptimizationsByCampaignLoader).load(self.id)
        return [CampaignOptimization.from_row(row) for row in rows]

    @strawberry.field(
        description="Daily metrics over a range (default: the last 30 days).",
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def daily_metrics(self, info: Ctx, range: DateRangeInput | None = None) -> list[MetricDay] | None:
        start, end = resolve_range(range)
        rows = await info.context.loader(DailyMetricsByCampaignLoader).load((self.id, start, end))
        return [MetricDay.from_row(row) for row in rows]

    @strawberry.field(
        description="Totals and rates over a range (default: the last 30 days).",
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def performance(self, info: Ctx, range: DateRangeInput | None = None) -> PerformanceSummary | None:
        start, end = resolve_range(range)
        totals = await info.context.loader(TotalsByCampaignLoader).load((self.id, start, end))
        return PerformanceSummary.from_totals(totals, start, end)

    @strawberry.field(
        description="Each audience segment's metrics summed over a range (default: last 30 days), by name.",
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def segments(self, info: Ctx, range: DateRangeInput | None = None) -> list[SegmentMetrics] | None:
        start, end = resolve_range(range)
        rows = await info.context.loader(SegmentTotalsByCampaignLoader).load((self.id, start, end))
        return [SegmentMetrics.from_totals(row) for row in rows]

    @strawberry.field(
        description=(
            "Metrics per UTC hour, day or ISO week over a range (default: the last 30 days), oldest first;"
            " buckets without data are left out, the first and last weeks hold only the range's days."
        ),
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def trend(
        self,
        info: Ctx,
        granularity: Annotated[
            TrendGranularity, strawberry.argument(description="Bucket size; HOUR spans at most 31 days.")
        ],
        range: DateRangeInput | None = None,
    ) -> list[TrendPoint] | None:
        start, end = resolve_range(range)
        check_trend_range(granularity=granularity, start=start, end=end)
        buckets = await info.context.loader(TrendByCampaignLoader).load((self.id, granularity, start, end))
        return [TrendPoint.from_bucket(bucket) for bucket in buckets]
