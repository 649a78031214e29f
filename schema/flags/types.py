"""GraphQL types and root fields of the feature-flags domain."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import EVERYONE, STAFF
from loaders.flags import FeatureFlagByIdLoader, RolloutsByFlagLoader
from models import flags as m
from resolvers.flags import evaluation as rules
from resolvers.flags import reads as flag_resolvers
from resolvers.flags.lifetimes import LIFETIME_DAYS, is_stale
from schema.analytics.types import DateRangeInput, resolve_range
from schema.connections import Connection, page_request, paged
from schema.flags.audit_types import FlagAuditEntry, audit_log
from schema.flags.evaluation_types import FlagContextInput, FlagEvaluation, context_user_pk
from schema.flags.usage_types import (
    FLAG_ANALYTICS_READERS,
    FlagUsageDay,
    FlagUsageReport,
    FlagUsageSummary,
    usage_days,
    usage_summary,
)
from schema.nodes import resolve_visible
from schema.permissions import allow, type_policy

FlagCategory = strawberry.enum(m.FlagCategory, description="Area of the product a flag belongs to.")
FlagType = strawberry.enum(m.FlagType, description="Purpose of a flag; it sets the flag's expected lifetime.")


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

    @classmethod
    async def resolve_nodes(
        cls, *, info: Ctx, node_ids: list[str], required: bool = False
    ) -> list[FeatureFlag | None]:
        return await resolve_visible("FeatureFlag", info, node_ids, FeatureFlagByIdLoader, cls.from_row)

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


@strawberry.input(description="Filters of the flag list; all given ones must match.")
class FlagFilterInput:
    category: list[FlagCategory] | None = strawberry.field(default=None, description="Any of these areas.")
    enabled: bool | None = strawberry.field(default=None, description="Switched on (or off) flags only.")
    stale: bool | None = strawberry.field(
        default=None, description="Flags older (or not) than their type's expected lifetime."
    )


def _criteria(value: FlagFilterInput | None) -> flag_resolvers.FlagFilter:
    f = value or FlagFilterInput()
    return flag_resolvers.FlagFilter(
        categories=[c.value for c in f.category or []], enabled=f.enabled, stale=f.stale
    )


@strawberry.type
class FlagQuery:
    @strawberry.field(
        description="Feature flags by key, filtered, a page at a time.", permission_classes=[allow(STAFF)]
    )
    async def flags(
        self,
        info: Ctx,
        filter: FlagFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FeatureFlag] | None:
        ctx, now = info.context, _now()
        return await paged(
            ctx,
            lambda session: flag_resolvers.list_flags(
                session=session,
                viewer=ctx.viewer,
                filter=_criteria(filter),
                page=page_request(first, after, last, before),
                now=now,
            ),
            partial(FeatureFlag.from_row, now=now),
        )

    @strawberry.field(
        description="One flag by key; null when there is none.", permission_classes=[allow(STAFF)]
    )
    async def flag(self, info: Ctx, key: str) -> FeatureFlag | None:
        async with info.context.read_session() as session:
            row = await flag_resolvers.get_flag(session=session, viewer=info.context.viewer, key=key)
        return None if row is None else FeatureFlag.from_row(row)

    @strawberry.field(
        description=(
            "Every flag's value for the user of the context (or only the flags of `keys`, in that"
            " order). Bucketing is Unleash's, so it is stable across requests and servers."
        ),
        permission_classes=[allow(EVERYONE)],
    )
    async def evaluate_flags(
        self,
        info: Ctx,
        context: FlagContextInput,
        keys: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these flags; unknown keys come back as FLAG_NOT_FOUND."),
        ] = None,
    ) -> list[FlagEvaluation]:
        ctx, viewer = info.context, info.context.viewer
        wanted = flag_resolvers.evaluation_keys(keys)
        user_pk = context_user_pk(context.user_id) if rules.uses_context_user_id(viewer.role) else None
        stickiness = rules.stickiness_for(
            role=viewer.role,
            viewer_user_id=viewer.user_id,
            context_user_id=user_pk,
            session_id=context.session_id,
        )
        async with ctx.read_session() as session:
            flags = await flag_resolvers.flags_for_evaluation(session=session, keys=wanted)
        rollouts = await ctx.loader(RolloutsByFlagLoader).load_many([flag.id for flag in flags])
        results = flag_resolvers.evaluate_flags(
            flags=flags, rollouts=rollouts, keys=wanted, segment=context.segment, stickiness=stickiness
        )
        return [FlagEvaluation.from_result(result) for result in results]

    @strawberry.field(
        description="Usage of each flag over a range (default: the last 30 days), flags by key.",
        permission_classes=[allow(FLAG_ANALYTICS_READERS)],
    )
    async def flag_usage(
        self,
        info: Ctx,
        range: DateRangeInput | None = None,
        filter: FlagFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FlagUsageReport] | None:
        ctx, now = info.context, _now()
        start, end = resolve_range(range)

        def report(row: m.FeatureFlag) -> FlagUsageReport:
            return FlagUsageReport(flag_key=row.key, flag_name=row.name, start=start, end=end, flag_id=row.id)

        return await paged(
            ctx,
            lambda session: flag_resolvers.list_flags(
                session=session,
                viewer=ctx.viewer,
                filter=_criteria(filter),
                page=page_request(first, after, last, before),
                now=now,
            ),
            report,
        )
