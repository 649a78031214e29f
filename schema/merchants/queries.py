"""Root fields of the merchants domain: categories, one merchant, and the merchant search."""

from __future__ import annotations

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import EVERYONE
from resolvers.merchants import reads as merchant_resolvers
from schema.connections import Connection, page_request, paged
from schema.merchants.types import Merchant, MerchantCategory
from schema.nodes import filter_pk, node_of
from schema.permissions import allow

MerchantSortField = strawberry.enum(merchant_resolvers.MerchantSort, description="Orders of a merchant list.")


@strawberry.input(description="A circle to search merchants in.")
class NearInput:
    latitude: float = strawberry.field(description="Centre latitude.")
    longitude: float = strawberry.field(description="Centre longitude.")
    radius_km: float = strawberry.field(
        description=f"Radius in km (at most {merchant_resolvers.MAX_RADIUS_KM:g})."
    )


@strawberry.input(description="Filters of the merchant list; all given ones must match.")
class MerchantFilterInput:
    category_id: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Any of these categories."
    )
    city: str | None = strawberry.field(default=None, description="City, case-insensitive.")
    featured: bool | None = strawberry.field(default=None, description="Featured merchants only (or not).")
    active: bool | None = strawberry.field(
        default=True, description="Active merchants (default), inactive, or null for all."
    )
    search: str | None = strawberry.field(default=None, description="Words of the name or city.")
    near: NearInput | None = strawberry.field(default=None, description="Within this circle.")


def _category_pks(ids: list[relay.GlobalID] | None) -> list[int]:
    return [pk for gid in ids or [] if (pk := filter_pk(gid, "MerchantCategory", "categoryId")) is not None]


@strawberry.type
class MerchantQuery:
    @strawberry.field(description="Merchant categories, by name.", permission_classes=[allow(EVERYONE)])
    async def merchant_categories(self, info: Ctx) -> list[MerchantCategory]:
        rows = await merchant_resolvers.list_categories(context=info.context)
        return [MerchantCategory.from_row(row) for row in rows]

    @strawberry.field(description="One merchant by global id.", permission_classes=[allow(EVERYONE)])
    async def merchant(self, info: Ctx, id: relay.GlobalID) -> Merchant | None:
        return await node_of(info, id, Merchant)

    @strawberry.field(
        description="Merchant search: filters, proximity (`near`, sorted by DISTANCE) and pages.",
        permission_classes=[allow(EVERYONE)],
    )
    async def merchants(
        self,
        info: Ctx,
        filter: MerchantFilterInput | None = None,
        sort: MerchantSortField | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Merchant]:
        f = filter or MerchantFilterInput()
        near = (
            None
            if f.near is None
            else merchant_resolvers.Near(f.near.latitude, f.near.longitude, f.near.radius_km)
        )
        criteria = merchant_resolvers.MerchantFilter(
            category_ids=_category_pks(f.category_id),
            city=f.city,
            featured=f.featured,
            active=f.active,
            search=f.search,
            near=near,
        )
        order = sort or (
            merchant_resolvers.MerchantSort.DISTANCE if near else merchant_resolvers.MerchantSort.NAME
        )
        ctx = info.context
        return await paged(
            ctx,
            lambda session: merchant_resolvers.list_merchants(
                session=session, filter=criteria, sort=order, page=page_request(first, after, last, before)
            ),
            lambda pair: Merchant.from_row(*pair),
        )
