"""Root fields of the campaigns domain: one campaign, and the filtered, sorted campaign list."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import CAMPAIGN_READERS
from resolvers.campaigns import reads as campaign_resolvers
from schema.campaigns.types import Campaign, CampaignStatus, CampaignType
from schema.connections import Connection, page_request, paged
from schema.merchants.types import merchant_pk
from schema.nodes import node_of
from schema.permissions import allow

CampaignSortField = strawberry.enum(campaign_resolvers.CampaignSort, description="Orders of a campaign list.")


@strawberry.input(description="Filters of the campaign list; all given ones must match.")
class CampaignFilterInput:
    status: list[CampaignStatus] | None = strawberry.field(default=None, description="Any of these statuses.")
    type: list[CampaignType] | None = strawberry.field(default=None, description="Any of these types.")
    merchant_id: strawberry.ID | None = strawberry.field(default=None, description="Global id of a merchant.")
    active_from: dt.datetime | None = strawberry.field(
        default=None, description="Running at some point after this."
    )
    active_to: dt.datetime | None = strawberry.field(
        default=None, description="Running at some point before this."
    )
    search: str | None = strawberry.field(default=None, description="Words of the name or description.")


@strawberry.input(description="Order of the campaign list.")
class CampaignSortInput:
    field: CampaignSortField = strawberry.field(
        default=campaign_resolvers.CampaignSort.CREATED_AT, description="Sort key."
    )
    descending: bool = strawberry.field(default=True, description="Largest first.")


def _merchant_pk(value: strawberry.ID | None) -> int | None:
    return None if value is None else merchant_pk(value)


@strawberry.type
class CampaignQuery:
    @strawberry.field(
        description="One campaign by global id; null when it does not exist or is not yours.",
        permission_classes=[allow(CAMPAIGN_READERS)],
    )
    async def campaign(self, info: Ctx, id: relay.GlobalID) -> Campaign | None:
        return await node_of(info, id, Campaign)

    @strawberry.field(
        description="Campaigns the viewer may see, filtered and sorted, a page at a time.",
        permission_classes=[allow(CAMPAIGN_READERS)],
    )
    async def campaigns(
        self,
        info: Ctx,
        filter: CampaignFilterInput | None = None,
        sort: CampaignSortInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Campaign] | None:
        f, s = filter or CampaignFilterInput(), sort or CampaignSortInput()
        criteria = campaign_resolvers.CampaignFilter(
            statuses=[v.value for v in f.status or []],
            types=[v.value for v in f.type or []],
            merchant_id=_merchant_pk(f.merchant_id),
            active_from=f.active_from,
            active_to=f.active_to,
            search=f.search,
        )
        ctx = info.context
        return await paged(
            ctx,
            lambda session: campaign_resolvers.list_campaigns(
                session=session,
                viewer=ctx.viewer,
                filter=criteria,
                sort=s.field,
                descending=s.descending,
                page=page_request(first, after, last, before),
            ),
            Campaign.from_row,
        )
