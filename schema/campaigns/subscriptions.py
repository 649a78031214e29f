"""Subscriptions of the campaigns domain: a campaign's status, live (campaign pages)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from core.change_feed import Watch
from core.context import Ctx
from core.errors import NotFound
from core.live import LiveContext, live_context, open_watch
from core.policies import CAMPAIGN_READERS
from loaders.campaigns import CampaignByIdLoader
from resolvers.campaigns.live import campaign_tags
from schema.campaigns.types import Campaign
from schema.mutation_runner import pk_of
from schema.permissions import allow

NOT_VISIBLE = "No campaign with this id that you may see."


@strawberry.type
class CampaignSubscription:
    @strawberry.subscription(
        description=(
            "The campaign as it is now, then again each time its status changes. Row visibility as "
            "`campaign`: NOT_FOUND when it does not exist or is not yours; the stream completes when "
            "it is deleted or stops being visible to you."
        ),
        permission_classes=[allow(CAMPAIGN_READERS)],
    )
    async def campaign_status_changed(
        self, info: Ctx, id: relay.GlobalID
    ) -> AsyncGenerator[Campaign | None, None]:
        context = live_context(info.context)
        campaign_id = pk_of(id, "Campaign")
        if campaign_id is None:
            raise NotFound(NOT_VISIBLE, field="id")
        # Watching first: a change committed while the row is read below is heard.
        watch = open_watch(context, campaign_tags(campaign_id))
        try:
            row = await context.loader(CampaignByIdLoader).load(campaign_id)
        except BaseException:
            watch.close()
            raise
        if row is None:
            watch.close()
            raise NotFound(NOT_VISIBLE, field="id")
        context.keeps_latest = True
        return _status_changes(context, watch, row)


async def _status_changes(
    context: LiveContext, watch: Watch, row: object
) -> AsyncGenerator[Campaign | None, None]:
    campaign_id, status = row.id, row.status  # type: ignore[attr-defined]
    try:
        yield Campaign.from_row(row)  # type: ignore[arg-type]
        while True:
            await context.take(watch)
            # A fresh context: its loader reads the row as committed now, with the viewer's visibility.
            found = await context.loader(CampaignByIdLoader).load(campaign_id)
            if found is None:
                return
            if found.status != status:
                status = found.status
                yield Campaign.from_row(found)
    finally:
        watch.close()
