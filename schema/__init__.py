"""The one schema: every domain's root fields merged, built for Federation v2."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.federation import Schema
from strawberry.federation.schema import FederationAny
from strawberry.types import ExecutionContext, Info

from core.errors import BadUserInput
from core.policies import EVERYONE
from schema.admin.mutations import AdminMutation
from schema.admin.queries import AdminQuery
from schema.admin.subscriptions import AdminSubscription
from schema.analytics.mutations import AnalyticsMutation
from schema.analytics.queries import AnalyticsQuery
from schema.analytics.subscriptions import AnalyticsSubscription
from schema.auth.mutations import AuthMutation
from schema.campaigns.mutations import CampaignMutation
from schema.campaigns.queries import CampaignQuery
from schema.campaigns.subscriptions import CampaignSubscription
from schema.execution import PlannedExecution
from schema.experiments.mutations import ExperimentMutation
from schema.experiments.queries import ExperimentQuery
from schema.experiments.subscriptions import ExperimentSubscription
from schema.extensions.documents import (
    CachedParser,
    CachedValidation,
    DocumentLimits,
    IntrospectionSwitch,
    TokenLimit,
)
from schema.extensions.errors import ErrorCoding
from schema.extensions.idempotency import IdempotentReplay
from schema.extensions.metrics import OperationMetrics
from schema.extensions.rate_limit import CostAndRateLimit
from schema.extensions.read_snapshot import ReadSnapshot
from schema.extensions.response_cache import ResponseCaching
from schema.extensions.sql_stats import SqlStatistics
from schema.extensions.tracing import operation_tracing
from schema.flags.mutations import FlagMutation
from schema.flags.queries import FlagQuery
from schema.flags.subscriptions import FlagSubscription
from schema.flags.usage_mutations import FlagUsageMutation
from schema.merchants.mutations import MerchantMutation
from schema.merchants.queries import MerchantQuery
from schema.ml.mutations import MlMutation
from schema.ml.queries import MlQuery
from schema.notifications.delivery_log import DeliveryLogQuery
from schema.notifications.mutations import NotificationMutation
from schema.notifications.queries import NotificationQuery
from schema.notifications.sends import NotificationSendMutation, NotificationSendQuery
from schema.notifications.subscriptions import NotificationSubscription
from schema.permissions import allow
from schema.scalars import SCALAR_OVERRIDES
from schema.users.mutations import UserMutation
from schema.users.queries import UserQuery


@strawberry.type(description="Read access to the SwipeSavvy platform.")
class Query(
    UserQuery,
    CampaignQuery,
    FlagQuery,
    ExperimentQuery,
    AnalyticsQuery,
    MerchantQuery,
    NotificationQuery,
    NotificationSendQuery,
    DeliveryLogQuery,
    MlQuery,
    AdminQuery,
):
    # Each type's resolve_nodes applies its own type policy and row visibility.
    node: relay.Node | None = relay.node(
        description="Any object by its global id; null when it does not exist or is not visible to you.",
        permission_classes=[allow(EVERYONE)],
    )
    nodes: list[relay.Node | None] = relay.node(
        description="Several objects by global id, in order; null for those not found or not visible.",
        permission_classes=[allow(EVERYONE)],
    )


@strawberry.type(
    description="Writes: every mutation is one transaction and reports input problems as userErrors."
)
class Mutation(
    AuthMutation,
    CampaignMutation,
    FlagMutation,
    ExperimentMutation,
    AnalyticsMutation,
    FlagUsageMutation,
    UserMutation,
    MerchantMutation,
    NotificationMutation,
    NotificationSendMutation,
    MlMutation,
    AdminMutation,
):
    pass


@strawberry.type(
    description=(
        "Live updates, over WebSocket on /graphql (graphql-transport-ws, or the legacy graphql-ws): "
        "each pushed once per committed change, never for a rolled-back write (README, Subscriptions)."
    )
)
class Subscription(
    CampaignSubscription,
    AnalyticsSubscription,
    ExperimentSubscription,
    FlagSubscription,
    NotificationSubscription,
    AdminSubscription,
):
    pass


class ApiSchema(Schema):
    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Federation's `_entities`, resolved exactly like `nodes(ids)`: type policy, then visibility.

        Without this, any caller could fetch any entity through the router's entry point.
        """
        return [
            self._entity(info, representation)
            if isinstance(representation, dict)
            else BadUserInput(
                "A representation is an object with __typename and id.", field="representations"
            )
            for representation in representations  # type: ignore[misc]
        ]

    @staticmethod
    async def _entity(info: Any, representation: dict[str, Any]) -> Any:
        type_name = representation.get("__typename")
        try:
            gid = relay.GlobalID.from_id(str(representation.get("id")))
        except Exception:  # noqa: BLE001 - any undecodable id is the caller's error
            return BadUserInput("The representation's id is not one this API issued.", field="id")
        if gid.type_name != type_name:
            return None
        origin = info.schema.get_type_by_name(type_name)
        if origin is None or not hasattr(origin.origin, "resolve_nodes"):
            return BadUserInput(f"{type_name} is not an entity.", field="__typename")
        try:
            (found,) = await origin.origin.resolve_nodes(info=info, node_ids=[gid.node_id])
        except GraphQLError as exc:
            return exc
        return found

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCoding logs unexpected errors once, with the request id; client errors are not logged.
        return None


def build_schema() -> ApiSchema:
    """The schema (buildable once per process: Strawberry's relay fields change as they are converted).
    Under the planned executor (schema/execution/), `graphql_core_only()` runs an operation on
    graphql-core's own, which is how tests compare the two."""
    # Without the document cache (parse and validation, bounded by bytes: schema/extensions/caches.py),
    # validation is ~90% of Strawberry's per-request cost (ARCHITECTURE.md).
    # The limit extensions read the request's settings and add their rules before validation. Order
    # matters after that: hooks enter in list order and exit in reverse (schema/extensions/__init__.py).
    extensions: list[Any] = [
        operation_tracing,  # first: its span holds every other hook (schema/extensions/tracing.py)
        ReadSnapshot,
        TokenLimit,
        CachedParser,
        DocumentLimits,
        IntrospectionSwitch,
        CachedValidation,
        CostAndRateLimit,
        ResponseCaching,
        SqlStatistics,
        OperationMetrics,
        IdempotentReplay,
        ErrorCoding,
    ]
    return ApiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # Input values are checked at the boundary (schema/scalars.py), which PlannedExecution extends.
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=PlannedExecution,
    )


schema = build_schema()
