"""GraphQL types and root fields of the feature-flags domain."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from strawberry.types import Info

from core.context import RequestContext
from core.viewer import STAFF
from models import flags as m
from resolvers import flags as flag_resolvers
from schema.permissions import allow, type_policy

Ctx = Info[RequestContext, None]
FlagCategory = strawberry.enum(m.FlagCategory, description="Area of the product a flag belongs to.")
FlagType = strawberry.enum(m.FlagType, description="Purpose of a flag; it sets the flag's expected lifetime.")


@type_policy(STAFF)
@strawberry.federation.type(keys=["id"], description="A feature flag the apps check at run time.")
class FeatureFlag(relay.Node):
    id: relay.NodeID[int]
    key: str = strawberry.field(description="Stable key the apps use, e.g. dark_mode.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the flag controls.")
    category: FlagCategory = strawberry.field(description="Area of the product.")
    type: FlagType = strawberry.field(description="Purpose; sets the expected lifetime.")
    enabled: bool = strawberry.field(description="Global switch: off means off for everyone.")
    rollout_percentage: int = strawberry.field(description="Share of users (0-100) who get the flag.")
    created_at: dt.datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")

    @classmethod
    def from_row(cls, row: m.FeatureFlag) -> FeatureFlag:
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            category=m.FlagCategory(row.category),
            type=m.FlagType(row.type),
            enabled=row.enabled,
            rollout_percentage=row.rollout_percentage,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class FlagQuery:
    @strawberry.field(description="Every feature flag, by key.", permission_classes=[allow(STAFF)])
    async def flags(self, info: Ctx) -> list[FeatureFlag]:
        async with info.context.read_session() as session:
            rows = await flag_resolvers.list_flags(session=session)
        return [FeatureFlag.from_row(row) for row in rows]
