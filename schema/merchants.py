"""GraphQL types and root fields of the merchants domain."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.context import RequestContext
from models.merchants import MerchantCategory as MerchantCategoryRow
from resolvers import merchants as merchant_resolvers


@strawberry.federation.type(keys=["id"], description="A kind of merchant (restaurants, fuel, travel, ...).")
class MerchantCategory:
    id: strawberry.ID = strawberry.field(description="Identifier of the category.")
    name: str = strawberry.field(description="Display name, unique.")
    description: str | None = strawberry.field(description="What belongs in the category.")
    icon_name: str | None = strawberry.field(description="Name of the icon the apps show.")
    color_code: str | None = strawberry.field(description="Hex colour, e.g. #FF6B6B.")
    is_active: bool = strawberry.field(description="Whether new merchants may use it.")

    @classmethod
    def from_row(cls, row: MerchantCategoryRow) -> MerchantCategory:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            description=row.description,
            icon_name=row.icon_name,
            color_code=row.color_code,
            is_active=row.is_active,
        )


@strawberry.type
class MerchantQuery:
    @strawberry.field(description="Merchant categories, by name.")
    async def merchant_categories(self, info: Info[RequestContext, None]) -> list[MerchantCategory]:
        async with info.context.read_session() as session:
            rows = await merchant_resolvers.list_categories(session=session)
        return [MerchantCategory.from_row(row) for row in rows]
