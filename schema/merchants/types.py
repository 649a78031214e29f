"""GraphQL types of the merchants domain: merchants, their categories and partnership terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import EVERYONE, PARTNERSHIP_READERS
from loaders.merchants import MerchantByIdLoader, MerchantCategoryByIdLoader, PartnershipByMerchantLoader
from models import merchants as m
from schema.caching.hints import cache_hint
from schema.nodes import LoadedNode, filter_pk
from schema.permissions import allow, type_policy

PartnershipType = strawberry.enum(m.PartnershipType, description="Tier of a merchant partnership.")


def merchant_pk(global_id: str) -> int:
    """The database id inside a Merchant global id (for filters that take one)."""
    pk = filter_pk(global_id, "Merchant", "merchantId")
    assert pk is not None  # given an id, filter_pk answers its pk or refuses it
    return pk


@cache_hint(max_age=300)
@type_policy(EVERYONE)
@strawberry.federation.type(keys=["id"], description="A kind of merchant (restaurants, fuel, travel, ...).")
class MerchantCategory(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Display name, unique.")
    description: str | None = strawberry.field(description="What belongs in the category.")
    icon_name: str | None = strawberry.field(description="Name of the icon the apps show.")
    color_code: str | None = strawberry.field(description="Hex colour, e.g. #FF6B6B.")
    is_active: bool = strawberry.field(description="Whether new merchants may use it.")

    @classmethod
    def from_row(cls, row: m.MerchantCategory) -> MerchantCategory:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            icon_name=row.icon_name,
            color_code=row.color_code,
            is_active=row.is_active,
        )

    by_id_loader = MerchantCategoryByIdLoader


@cache_hint(max_age=300)
@type_policy(PARTNERSHIP_READERS)
@strawberry.type(description="Partnership terms and the campaign results attributed to a merchant.")
class Partnership:
    is_partner: bool = strawberry.field(description="Whether the partnership is in force.")
    partnership_type: PartnershipType | None = strawberry.field(description="Tier.")
    commission_rate: Decimal | None = strawberry.field(description="Commission, percent.")
    user_visits_total: int = strawberry.field(description="Visits by app users.")
    campaign_impressions: int = strawberry.field(description="Impressions of its campaigns.")
    campaign_conversions: int = strawberry.field(description="Conversions of its campaigns.")
    revenue_from_campaigns: Decimal = strawberry.field(description="Revenue attributed to its campaigns.")

    @classmethod
    def from_row(cls, row: m.PreferredMerchant) -> Partnership:
        return cls(
            is_partner=row.is_partner,
            partnership_type=None
            if row.partnership_type is None
            else m.PartnershipType(row.partnership_type),
            commission_rate=row.commission_rate,
            user_visits_total=row.user_visits_total,
            campaign_impressions=row.campaign_impressions,
            campaign_conversions=row.campaign_conversions,
            revenue_from_campaigns=row.revenue_from_campaigns,
        )


@cache_hint(max_age=300)
@type_policy(EVERYONE)
@strawberry.federation.type(
    keys=["id"], description="A merchant (shop, restaurant, station...) and where it is."
)
class Merchant(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Natural key used by partners and processors.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="About the merchant.")
    latitude: float = strawberry.field(description="WGS84 latitude.")
    longitude: float = strawberry.field(description="WGS84 longitude.")
    address: str | None = strawberry.field(description="Street address.")
    city: str | None = strawberry.field(description="City.")
    state: str | None = strawberry.field(description="State or region.")
    zip_code: str | None = strawberry.field(description="Postal code.")
    country: str = strawberry.field(description="Country.")
    # A business's public contact, declared as such (phone fields are sensitive by default).
    phone: str | None = strawberry.field(description="Business phone.", permission_classes=[allow(EVERYONE)])
    website: str | None = strawberry.field(description="Web site.")
    operating_hours: JSON | None = strawberry.field(
        description='Opening hours, e.g. {"monday": {"open": "9:00"}}.'
    )
    rating: Decimal | None = strawberry.field(description="Average rating, 0 to 5.")
    total_reviews: int = strawberry.field(description="Number of reviews.")
    is_active: bool = strawberry.field(description="Whether it takes part in the programme.")
    is_featured: bool = strawberry.field(description="Whether the apps feature it.")
    distance_km: float | None = strawberry.field(description="Distance from `near` (proximity search only).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")
    category_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.Merchant, distance_km: float | None = None) -> Merchant:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            description=row.description,
            latitude=row.latitude,
            longitude=row.longitude,
            address=row.address,
            city=row.city,
            state=row.state,
            zip_code=row.zip_code,
            country=row.country,
            phone=row.phone,
            website=row.website,
            operating_hours=row.operating_hours,
            rating=row.rating,
            total_reviews=row.total_reviews,
            is_active=row.is_active,
            is_featured=row.is_featured,
            distance_km=distance_km,
            updated_at=row.updated_at,
            category_id=row.category_id,
        )

    by_id_loader = MerchantByIdLoader

    @strawberry.field(description="The merchant's category.", permission_classes=[allow(EVERYONE)])
    async def category(self, info: Ctx) -> MerchantCategory | None:
        row = await info.context.loader(MerchantCategoryByIdLoader).load(self.category_id)
        return None if row is None else MerchantCategory.from_row(row)

    @strawberry.field(
        description="Partnership terms (staff, or the merchant's own staff).",
        permission_classes=[allow(PARTNERSHIP_READERS)],
    )
    async def partnership(self, info: Ctx) -> Partnership | None:
        row = await info.context.loader(PartnershipByMerchantLoader).load(self.id)
        return None if row is None else Partnership.from_row(row)
