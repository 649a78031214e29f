"""Root fields of the experiments domain: one test, the filtered list, the viewer's own assignments."""

from __future__ import annotations

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ASSIGNMENT_READERS, STAFF
from loaders.experiments import AssignmentsByUserLoader
from resolvers.experiments import reads as experiment_resolvers
from schema.connections import Connection, page_request, paged
from schema.experiments.types import Experiment, ExperimentAssignment, ExperimentStatus
from schema.nodes import filter_pk, node_of
from schema.permissions import allow


@strawberry.input(description="Filters of the experiment list; all given ones must match.")
class ExperimentFilterInput:
    status: list[ExperimentStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Global id of a campaign.")


@strawberry.type
class ExperimentQuery:
    @strawberry.field(
        description="One experiment by global id; null when it does not exist.",
        permission_classes=[allow(STAFF)],
    )
    async def experiment(self, info: Ctx, id: relay.GlobalID) -> Experiment | None:
        return await node_of(info, id, Experiment)

    @strawberry.field(
        description="Experiments, newest first, filtered, a page at a time.",
        permission_classes=[allow(STAFF)],
    )
    async def experiments(
        self,
        info: Ctx,
        filter: ExperimentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Experiment] | None:
        f = filter or ExperimentFilterInput()
        criteria = experiment_resolvers.ExperimentFilter(
            statuses=[s.value for s in f.status or []],
            campaign_id=filter_pk(f.campaign_id, "Campaign", "campaignId"),
        )
        ctx = info.context
        return await paged(
            ctx,
            lambda session: experiment_resolvers.list_experiments(
                session=session,
                viewer=ctx.viewer,
                filter=criteria,
                page=page_request(first, after, last, before),
            ),
            Experiment.from_row,
        )

    @strawberry.field(
        description="The viewer's own experiment assignments, newest first.",
        permission_classes=[allow(ASSIGNMENT_READERS)],
    )
    async def my_experiment_assignments(self, info: Ctx) -> list[ExperimentAssignment] | None:
        user_id = info.context.viewer.user_id
        if user_id is None:
            return []
        views = await info.context.loader(AssignmentsByUserLoader).load(user_id)
        return [ExperimentAssignment.from_view(v) for v in views]
