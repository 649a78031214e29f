"""Subscriptions of the experiments domain: an experiment's results, live (staff)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from core.change_feed import Watch
from core.context import Ctx
from core.errors import NotFound
from core.live import LiveContext, live_context, open_watch
from core.live_pacing import paced_changes
from core.policies import EXPERIMENT_READERS
from resolvers.experiments import live
from resolvers.experiments.reads import ExperimentResults as Computed
from schema.experiments.result_types import ExperimentResults
from schema.mutation_runner import pk_of
from schema.permissions import allow

NOT_VISIBLE = "No experiment with this id that you may see."


@strawberry.type
class ExperimentSubscription:
    @strawberry.subscription(
        description=(
            "An experiment's results as `Experiment.results` gives them, now and again whenever "
            "they change (an assignment, a conversion, a status change, a stored snapshot): at most "
            "once every SUBSCRIPTION_COALESCE_S seconds (2 s by default) while writes arrive, never "
            "for a write that changes nothing shown. NOT_FOUND when there is no such experiment; "
            "the stream completes when it is deleted."
        ),
        permission_classes=[allow(EXPERIMENT_READERS)],
    )
    async def experiment_results(
        self, info: Ctx, experiment_id: relay.GlobalID
    ) -> AsyncGenerator[ExperimentResults | None, None]:
        context = live_context(info.context)
        pk = pk_of(experiment_id, "Experiment")
        if pk is None:
            raise NotFound(NOT_VISIBLE, field="experimentId")
        # Watching first: an assignment committed while the results are computed is heard.
        watch = open_watch(context, live.experiment_tags(pk))
        try:
            first = await live.visible_results(context, pk)
        except BaseException:
            watch.close()
            raise
        if first is None:
            watch.close()
            raise NotFound(NOT_VISIBLE, field="experimentId")
        context.keeps_latest = True
        return _results(context, watch, pk, first)


async def _results(
    context: LiveContext, watch: Watch, experiment_id: int, first: Computed
) -> AsyncGenerator[ExperimentResults | None, None]:
    sent = first
    try:
        yield ExperimentResults.from_results(first)
        async for _ in paced_changes(context, watch, context.settings.subscription_coalesce_s):
            now = await live.visible_results(context, experiment_id)
            if now is None:
                return
            if not live.same_results(now, sent):
                sent = now
                yield ExperimentResults.from_results(now)
    finally:
        watch.close()
