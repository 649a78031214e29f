"""GraphQL types of the feature-flags domain: flags, their variants, and the enums they use."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import STAFF
from loaders.flags import FeatureFlagByIdLoader, RolloutsByFlagLoader
from models import flags as m
from resolvers.flags.lifetimes import LIFETIME_DAYS, is_stale
from schema.analytics.types import DateRangeInput, resolve_range
from schema.caching.hints import cache_hint
from schema.connections import Connection, page_request
from schema.flags.audit_types import FlagAuditEntry, audit_log
from schema.flags.usage_types import (
    FLAG_ANALYTICS_READERS,
    FlagUsageDay,
    FlagUsageSummary,
    usage_days,
    usage_summary,
)
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy

FlagCategory = strawberry.enum(m.FlagCategory, description="Area of the product a flag belongs to.")
FlagType = strawberry.enum(m.FlagType, description="Purpose of a flag; it sets the flag's expected lifetime.")


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.type(description="A variant of a flag, for every user or for one segment.")
class FlagRollout:
    segment: str | None = strawberry.field(description="Segment it targets; null for every segment.")
    variant_key: str = strawberry.field(description="Key of the variant.")
    variant_value: str | None = strawberry.field(description="Payload the apps receive with it.")
    weight: int = strawberry.field(description="Share among its rows, in tenths of a percent (of 1000).")
    active: bool = strawberry.field(description="Whether evaluation uses it.")

    @classmethod
    def from_row(cls, row: m.FlagRollout) -> FlagRollout:
        return cls(
            segment=row.user_segment,
            variant_key=row.variant_key,
            variant_value=row.variant_value,
            weight=row.weight,
            active=row.active,
        )


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.federation.type(keys=["id"], description="A feature flag the apps check at run time.")
class FeatureFlag(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    key: str = strawberry.field(description="Stable key the apps use, e.g. dark_mode.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the flag controls.")
    category: FlagCategory = strawberry.field(description="Area of the product.")
    type: FlagType = strawberry.field(description="Purpose; sets the expected lifetime.")
    enabled: bool = strawberry.field(description="Global switch: off means off for everyone.")
    rollout_percentage: int = strawberry.field(description="Share of users (0-100) who get the flag.")
    lifetime_days: int | None = strawberry.field(
        description="Expected lifetime of its type, in days; null for flags meant to stay."
    )
    is_stale: bool = strawberry.field(description="Older than its type's expected lifetime: clean it up.")
    created_at: dt.datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")

    @classmethod
    def from_row(cls, row: m.FeatureFlag, now: dt.datetime | None = None) -> FeatureFlag:
        flag_type = m.FlagType(row.type)
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            category=m.FlagCategory(row.category),
            type=flag_type,
            enabled=row.enabled,
            rollout_percentage=row.rollout_percentage,
            lifetime_days=LIFETIME_DAYS[flag_type],
            is_stale=is_stale(flag_type=flag_type, created_at=row.created_at, now=now or _now()),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    by_id_loader = FeatureFlagByIdLoader

    @strawberry.field(
        description="Its variants, general and per segment, in the order they are hashed.",
        permission_classes=[allow(STAFF)],
    )
    async def rollouts(self, info: Ctx) -> list[FlagRollout] | None:
        rows = await info.context.loader(RolloutsByFlagLoader).load(self.id)
        return [FlagRollout.from_row(row) for row in rows]

    @strawberry.field(description="Changes made to it, newest first.", permission_classes=[allow(STAFF)])
    async def audit_log(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FlagAuditEntry] | None:
        return await audit_log(info, self.id, page_request(first, after, last, before))

    @strawberry.field(
        description="Daily usage over a range (default: the last 30 days).",
        permission_classes=[allow(FLAG_ANALYTICS_READERS)],
    )
    async def usage(self, info: Ctx, range: DateRangeInput | None = None) -> list[FlagUsageDay] | None:
        return await usage_days(info, self.id, *resolve_range(range))

    @strawberry.field(
        description="Usage totals and rates over a range (default: the last 30 days).",
        permission_classes=[allow(FLAG_ANALYTICS_READERS)],
    )
    async def usage_summary(self, info: Ctx, range: DateRangeInput | None = None) -> FlagUsageSummary | None:
        return await usage_summary(info, self.id, *resolve_range(range))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
