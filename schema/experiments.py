"""GraphQL types and root fields of the experiments (A/B tests) domain."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from strawberry.types import Info

from core.context import RequestContext
from core.viewer import STAFF
from loaders.experiments import ExperimentByIdLoader, VariantsByExperimentLoader
from models import experiments as m
from schema.nodes import resolve_visible
from schema.permissions import allow, type_policy

Ctx = Info[RequestContext, None]
ExperimentStatus = strawberry.enum(m.ExperimentStatus, description="Lifecycle of an A/B test.")


@type_policy(STAFF)
@strawberry.type(description="One arm of an A/B test.")
class Variant:
    key: str = strawberry.field(description="Stable key, e.g. control or green_button.")
    name: str = strawberry.field(description="Display name.")
    is_control: bool = strawberry.field(description="Whether the others are compared with it.")
    weight: int = strawberry.field(description="Share of users, in tenths of a percent (out of 1000).")

    @classmethod
    def from_row(cls, row: m.ExperimentVariant) -> Variant:
        return cls(key=row.key, name=row.name, is_control=row.is_control, weight=row.weight)


@type_policy(STAFF)
@strawberry.federation.type(keys=["id"], description="An A/B test.")
class Experiment(relay.Node):
    id: relay.NodeID[int]
    key: str = strawberry.field(description="Stable key; bucketing hashes it with the user id.")
    name: str = strawberry.field(description="Display name.")
    hypothesis: str | None = strawberry.field(description="What the test should show.")
    status: ExperimentStatus = strawberry.field(description="Lifecycle state.")
    starts_at: dt.datetime | None = strawberry.field(description="Start (UTC).")
    ends_at: dt.datetime | None = strawberry.field(description="End (UTC).")
    confidence_level: float = strawberry.field(description="Confidence level, percent (e.g. 95).")
    min_statistical_power: float = strawberry.field(description="Power, percent (e.g. 80).")
    baseline_rate: float | None = strawberry.field(description="Expected control conversion rate, 0 to 1.")
    minimum_detectable_effect: float | None = strawberry.field(description="Relative uplift worth detecting.")

    @classmethod
    def from_row(cls, row: m.Experiment) -> Experiment:
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            hypothesis=row.hypothesis,
            status=m.ExperimentStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            confidence_level=row.confidence_level,
            min_statistical_power=row.min_statistical_power,
            baseline_rate=row.baseline_rate,
            minimum_detectable_effect=row.minimum_detectable_effect,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Ctx, node_ids: list[str], required: bool = False
    ) -> list[Experiment | None]:
        return await resolve_visible("Experiment", info, node_ids, ExperimentByIdLoader, cls.from_row)

    @strawberry.field(description="The arms of the test, control first.", permission_classes=[allow(STAFF)])
    async def variants(self, info: Ctx) -> list[Variant]:
        rows = await info.context.loader(VariantsByExperimentLoader).load(self.id)
        return [Variant.from_row(row) for row in rows]


@strawberry.type
class ExperimentQuery:
    pass
