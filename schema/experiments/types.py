"""GraphQL types of the experiments (A/B tests) domain: tests, their variants, assignments."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ASSIGNMENT_READERS, OWN_ASSIGNMENT_READERS, STAFF
from loaders.experiments import (
    AssignedUsersByExperimentLoader,
    AssignmentsByUserLoader,
    AssignmentView,
    ExperimentByIdLoader,
    VariantsByExperimentLoader,
)
from models import experiments as m
from resolvers.experiments import reads as experiment_resolvers
from schema.caching.hints import CacheScope, cache_hint
from schema.experiments.result_types import ExperimentResults
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy

if TYPE_CHECKING:
    from schema.campaigns.types import Campaign

# Anyone with an account has assignments of their own; only staff see the experiments themselves.

ExperimentStatus = strawberry.enum(m.ExperimentStatus, description="Lifecycle of an A/B test.")


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.type(description="One arm of an A/B test.")
class Variant:
    key: str = strawberry.field(description="Stable key, e.g. control or green_button.")
    name: str = strawberry.field(description="Display name.")
    is_control: bool = strawberry.field(description="Whether the others are compared with it.")
    weight: int = strawberry.field(description="Share of users, in tenths of a percent (out of 1000).")
    variant_id: strawberry.Private[int]
    experiment_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.ExperimentVariant) -> Variant:
        return cls(
            key=row.key,
            name=row.name,
            is_control=row.is_control,
            weight=row.weight,
            variant_id=row.id,
            experiment_id=row.test_id,
        )

    @strawberry.field(description="Users assigned to this variant so far.")
    async def assigned_users(self, info: Ctx) -> int:
        counts = await info.context.loader(AssignedUsersByExperimentLoader).load(self.experiment_id)
        return counts.get(self.variant_id, 0)


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(ASSIGNMENT_READERS)
@strawberry.type(description="The variant a user was assigned to in one experiment (sticky).")
class ExperimentAssignment:
    experiment_key: str = strawberry.field(description="Key of the experiment.")
    variant_key: str = strawberry.field(description="Key of the variant the user sees.")
    assigned_at: dt.datetime = strawberry.field(description="When the user was first assigned (UTC).")

    @classmethod
    def from_view(cls, view: AssignmentView) -> ExperimentAssignment:
        return cls(
            experiment_key=view.experiment_key, variant_key=view.variant_key, assigned_at=view.assigned_at
        )


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.federation.type(keys=["id"], description="An A/B test.")
class Experiment(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    key: str = strawberry.field(description="Stable key; bucketing hashes it with the user id.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What is tested.")
    hypothesis: str | None = strawberry.field(description="What the test should show.")
    status: ExperimentStatus = strawberry.field(description="Lifecycle state.")
    starts_at: dt.datetime | None = strawberry.field(description="Start (UTC).")
    ends_at: dt.datetime | None = strawberry.field(description="End (UTC).")
    confidence_level: float = strawberry.field(description="Confidence level, percent (e.g. 95).")
    min_statistical_power: float = strawberry.field(description="Power, percent (e.g. 80).")
    baseline_rate: float | None = strawberry.field(description="Expected control conversion rate, 0 to 1.")
    minimum_detectable_effect: float | None = strawberry.field(description="Relative uplift worth detecting.")
    sample_size: int | None = strawberry.field(description="Planned users per variant, as stored.")
    created_at: dt.datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")
    campaign_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Experiment) -> Experiment:
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            hypothesis=row.hypothesis,
            status=m.ExperimentStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            confidence_level=row.confidence_level,
            min_statistical_power=row.min_statistical_power,
            baseline_rate=row.baseline_rate,
            minimum_detectable_effect=row.minimum_detectable_effect,
            sample_size=row.sample_size,
            created_at=row.created_at,
            updated_at=row.updated_at,
            campaign_id=row.campaign_id,
        )

    by_id_loader = ExperimentByIdLoader

    @strawberry.field(description="The arms of the test, control first.", permission_classes=[allow(STAFF)])
    async def variants(self, info: Ctx) -> list[Variant] | None:
        rows = await info.context.loader(VariantsByExperimentLoader).load(self.id)
        return [Variant.from_row(row) for row in rows]

    @strawberry.field(
        description="The campaign the test belongs to, if any.", permission_classes=[allow(STAFF)]
    )
    async def campaign(
        self, info: Ctx
    ) -> Annotated[Campaign, strawberry.lazy("schema.campaigns.types")] | None:
        from loaders.campaigns import CampaignByIdLoader
        from schema.campaigns.types import Campaign

        if self.campaign_id is None:
            return None
        row = await info.context.loader(CampaignByIdLoader).load(self.campaign_id)
        return None if row is None else Campaign.from_row(row)

    @strawberry.field(
        description="Results per variant: live while the test can change, the stored snapshot once it ended.",
        permission_classes=[allow(STAFF)],
    )
    async def results(self, info: Ctx) -> ExperimentResults | None:
        plan = experiment_resolvers.ExperimentPlan(
            status=self.status.value,
            confidence_level=self.confidence_level,
            min_statistical_power=self.min_statistical_power,
            baseline_rate=self.baseline_rate,
            minimum_detectable_effect=self.minimum_detectable_effect,
        )
        results = await experiment_resolvers.load_results(
            context=info.context, experiment_id=self.id, plan=plan
        )
        return ExperimentResults.from_results(results)

    @strawberry.field(
        description="The viewer's own assignment in this test; null when not assigned.",
        permission_classes=[allow(OWN_ASSIGNMENT_READERS)],
    )
    async def my_assignment(self, info: Ctx) -> ExperimentAssignment | None:
        user_id = info.context.viewer.user_id
        if user_id is None:
            return None
        views = await info.context.loader(AssignmentsByUserLoader).load(user_id)
        mine = next((v for v in views if v.experiment_id == self.id), None)
        return None if mine is None else ExperimentAssignment.from_view(mine)
