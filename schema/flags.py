"""GraphQL types and root fields of the feature-flags domain."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.context import RequestContext
from models.flags import FeatureFlag as FeatureFlagRow
from resolvers import flags as flag_resolvers


@strawberry.federation.type(keys=["id"], description="A feature flag the apps check at run time.")
class FeatureFlag:
    id: strawberry.ID = strawberry.field(description="Identifier of the flag.")
    key: str = strawberry.field(description="Stable key the apps use, e.g. dark_mode.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the flag controls.")
    category: str = strawberry.field(description="ui, advanced, experimental or rollout.")
    type: str = strawberry.field(description="release, experiment, operational, kill_switch or permission.")
    enabled: bool = strawberry.field(description="Global switch: off means off for everyone.")
    rollout_percentage: int = strawberry.field(description="Share of users (0-100) who get the flag.")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")

    @classmethod
    def from_row(cls, row: FeatureFlagRow) -> FeatureFlag:
        return cls(
            id=strawberry.ID(str(row.id)),
            key=row.key,
            name=row.name,
            description=row.description,
            category=row.category,
            type=row.type,
            enabled=row.enabled,
            rollout_percentage=row.rollout_percentage,
            updated_at=row.updated_at,
        )


@strawberry.type
class FlagQuery:
    @strawberry.field(description="Every feature flag, by key.")
    async def flags(self, info: Info[RequestContext, None]) -> list[FeatureFlag]:
        async with info.context.read_session() as session:
            rows = await flag_resolvers.list_flags(session=session)
        return [FeatureFlag.from_row(row) for row in rows]
