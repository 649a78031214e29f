"""The root fields of the feature-flags domain: the flag list, one flag, evaluation and usage."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

import strawberry

from core.context import Ctx, RequestContext
from core.policies import EVERYONE, STAFF
from models import flags as m
from resolvers.flags import evaluation as rules
from resolvers.flags import reads as flag_resolvers
from schema.analytics.types import DateRangeInput, resolve_range
from schema.connections import Connection, page_request, paged
from schema.flags.evaluation_types import FlagContextInput, FlagEvaluation, context_user_pk
from schema.flags.types import FeatureFlag, FlagCategory
from schema.flags.usage_types import FLAG_ANALYTICS_READERS, FlagUsageReport
from schema.permissions import allow


async def evaluations(
    ctx: RequestContext, context: FlagContextInput, keys: list[str] | None
) -> list[FlagEvaluation]:
    """`evaluateFlags`' answer (and each of `flagsChanged`'s): the flags' values for the context."""
    viewer = ctx.viewer
    wanted = flag_resolvers.evaluation_keys(keys)
    user_pk = context_user_pk(context.user_id) if rules.uses_context_user_id(viewer.role) else None
    stickiness = rules.stickiness_for(
        role=viewer.role,
        viewer_user_id=viewer.user_id,
        context_user_id=user_pk,
        session_id=context.session_id,
    )
    results = await flag_resolvers.evaluate_for(
        context=ctx, keys=wanted, segment=context.segment, stickiness=stickiness
    )
    return [FlagEvaluation.from_result(result) for result in results]


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
        ctx, now = info.context, dt.datetime.now(dt.UTC)
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
        row = await flag_resolvers.get_flag(context=info.context, key=key)
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
        return await evaluations(info.context, context, keys)

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
        ctx, now = info.context, dt.datetime.now(dt.UTC)
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
