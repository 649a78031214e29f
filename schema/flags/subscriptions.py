"""Subscriptions of the flags domain: the mobile app's evaluation, pushed again when it changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from core.change_feed import Watch
from core.context import Ctx
from core.live import LiveContext, live_context, open_watch
from core.policies import EVERYONE
from resolvers.flags.live import FLAG_TAGS, catch_up
from schema.flags.evaluation_types import FlagContextInput, FlagEvaluation
from schema.flags.queries import evaluations
from schema.permissions import allow


@strawberry.type
class FlagSubscription:
    @strawberry.subscription(
        description=(
            "`evaluateFlags` for the context now, then again after every committed flag or rollout"
            " write that changes any of its values (once per commit; never for a rolled-back write)."
        ),
        permission_classes=[allow(EVERYONE)],
    )
    async def flags_changed(
        self,
        info: Ctx,
        context: FlagContextInput,
        keys: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these flags; unknown keys come back as FLAG_NOT_FOUND."),
        ] = None,
    ) -> AsyncGenerator[list[FlagEvaluation], None]:
        live = live_context(info.context)
        # Watching first: a flag write committed while the first answer is computed is heard.
        watch = open_watch(live, FLAG_TAGS)
        try:
            first = await evaluations(live.current, context, keys)
        except BaseException:
            watch.close()
            raise
        # Every result is the whole evaluation: a subscriber joining the stream is sent the latest.
        live.keeps_latest = True
        return _changes(live, watch, first, context, keys)


async def _changes(
    live: LiveContext,
    watch: Watch,
    first: list[FlagEvaluation],
    context: FlagContextInput,
    keys: list[str] | None,
) -> AsyncGenerator[list[FlagEvaluation], None]:
    sent = first
    try:
        yield first
        while True:
            await live.take(watch)
            await catch_up(live.services)
            now = await evaluations(live.current, context, keys)
            # A write to a flag this context does not see (another segment's rollout) changes nothing.
            if now != sent:
                sent = now
                yield now
    finally:
        watch.close()
