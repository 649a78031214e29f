"""Subscriptions of the analytics domain: one campaign's running totals, live (dashboards)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from core.change_feed import Watch
from core.context import Ctx
from core.errors import NotFound
from core.live import LiveContext, live_context, open_watch
from core.live_pacing import paced_changes
from core.policies import ANALYTICS_READERS
from resolvers.analytics.live import metrics_tags, visible_totals
from schema.analytics.types import DateRangeInput, PerformanceSummary, resolve_range
from schema.mutation_runner import pk_of
from schema.permissions import allow

NOT_VISIBLE = "No campaign with this id that you may see."


@strawberry.type
class AnalyticsSubscription:
    @strawberry.subscription(
        description=(
            "A campaign's totals and rates over a range (default: the last 30 days, moving with the "
            "day), now and again whenever events or spend for it commit: at most once every "
            "SUBSCRIPTION_COALESCE_S seconds (2 s by default) while they arrive, the latest figures, "
            "never one message per event. Row visibility as `campaign`: NOT_FOUND when it does not "
            "exist or is not yours; the stream completes when it stops being visible to you."
        ),
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    async def campaign_metrics(
        self, info: Ctx, campaign_id: relay.GlobalID, range: DateRangeInput | None = None
    ) -> AsyncGenerator[PerformanceSummary | None, None]:
        context = live_context(info.context)
        pk = pk_of(campaign_id, "Campaign")
        if pk is None:
            raise NotFound(NOT_VISIBLE, field="campaignId")
        start, end = resolve_range(range)
        # Watching first: events committed while the totals are read below are heard.
        watch = open_watch(context, metrics_tags(pk))
        try:
            totals = await visible_totals(context, pk, start, end)
        except BaseException:
            watch.close()
            raise
        if totals is None:
            watch.close()
            raise NotFound(NOT_VISIBLE, field="campaignId")
        context.keeps_latest = True
        return _running_totals(context, watch, pk, range, PerformanceSummary.from_totals(totals, start, end))


async def _running_totals(
    context: LiveContext,
    watch: Watch,
    campaign_id: int,
    range: DateRangeInput | None,
    first: PerformanceSummary,
) -> AsyncGenerator[PerformanceSummary | None, None]:
    sent = first
    try:
        yield first
        async for _ in paced_changes(context, watch, context.settings.subscription_coalesce_s):
            start, end = resolve_range(range)
            totals = await visible_totals(context, campaign_id, start, end)
            if totals is None:
                return
            now = PerformanceSummary.from_totals(totals, start, end)
            # A write that changed nothing shown (the campaign renamed) is not pushed.
            if now != sent:
                sent = now
                yield now
    finally:
        watch.close()
