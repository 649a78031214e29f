"""Experiment data mutations: sticky variant assignments (the apps, services, admins and marketers) and
conversions (services and admins only); one user's conversions and revenue are shown to that user,
admins and services only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from core.context import Ctx
from core.policies import ASSIGNERS, CONVERSION_RECORDERS, PER_USER_EXPERIMENT_READERS
from resolvers.experiments import assignment_writes as assignments
from resolvers.outcomes import ProblemCode
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, not_an_id, pk_of, run_mutation
from schema.permissions import RolePolicy, allow, type_policy

# Not customers: the mobile app must not be able to inflate the results of its own user.


class PerUserResults(RolePolicy):
    """One user's conversions and revenue: admins and services, and the user themself. Marketers may
    assign users, and see the aggregates in `Experiment.results`, not each user's purchases."""

    roles = PER_USER_EXPERIMENT_READERS
    message = "Only the user, admins and services see one user's conversions and revenue."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer.role in self.roles or (viewer.user_id is not None and viewer.user_id == source.user_pk)


def user_error(field: str, message: str, code: ProblemCode = ProblemCode.NOT_FOUND) -> list[UserError]:
    return [UserError(field=field, message=message, code=code)]


@strawberry.input(description="Which user gets a variant of which running test.")
class AssignVariantInput:
    experiment_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The experiment; or give experimentKey."
    )
    experiment_key: str | None = strawberry.field(
        default=None, description="The experiment's key; or experimentId."
    )
    user_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description=(
            "The user (required for services). Customers are assigned as themselves: another id is FORBIDDEN."
        ),
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="One conversion of an assigned user in a running test.")
class RecordConversionInput:
    user_id: relay.GlobalID = strawberry.field(description="The converting user.")
    experiment_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The experiment; or give experimentKey."
    )
    experiment_key: str | None = strawberry.field(
        default=None, description="The experiment's key; or experimentId."
    )
    revenue: Decimal = strawberry.field(
        default=Decimal(0), description="Revenue of the conversion, USD, 0 or more."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description=IDEMPOTENCY_KEY_HELP + " Without one, a retry counts twice."
    )


@type_policy(ASSIGNERS)
@strawberry.type(description="A user's variant in a test, stored at the first assignment and never changed.")
class VariantAssignment:
    experiment_key: str = strawberry.field(description="Key of the experiment.")
    variant_key: str = strawberry.field(description="Key of the variant the user sees.")
    variant_name: str = strawberry.field(description="Display name of that variant.")
    payload: JSON | None = strawberry.field(description="The variant's configuration, if any.")
    user_id: relay.GlobalID = strawberry.field(description="Global id of the user.")
    assigned_at: dt.datetime = strawberry.field(description="When the user was first assigned (UTC).")
    conversions: int | None = strawberry.field(
        description="Conversions of the user in this test (the user, admins and services only).",
        permission_classes=[PerUserResults],
    )
    revenue: Decimal | None = strawberry.field(
        description="Their revenue in this test, USD (the user, admins and services only).",
        permission_classes=[PerUserResults],
    )
    last_converted_at: dt.datetime | None = strawberry.field(
        description="Last conversion (UTC), if any (the user, admins and services only).",
        permission_classes=[PerUserResults],
    )
    user_pk: strawberry.Private[int]

    @classmethod
    def from_value(cls, v: assignments.AssignedVariant) -> VariantAssignment:
        return cls(
            experiment_key=v.experiment_key,
            variant_key=v.variant_key,
            variant_name=v.variant_name,
            payload=v.payload,
            user_id=relay.GlobalID("User", str(v.user_id)),
            assigned_at=v.assigned_at,
            conversions=v.conversions,
            revenue=v.revenue,
            last_converted_at=v.last_converted_at,
            user_pk=v.user_id,
        )


@strawberry.type(description="The user's stored variant, or why there is none.")
class AssignVariantPayload:
    assignment: VariantAssignment | None = strawberry.field(description="The stored assignment (sticky).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The assignment with the conversion counted, or why it was not.")
class RecordConversionPayload:
    assignment: VariantAssignment | None = strawberry.field(
        description="The assignment after the conversion."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _experiment_ref(
    data: AssignVariantInput | RecordConversionInput, errors: list[UserError]
) -> int | str | None:
    """The experiment's database id or key, whichever one the input gives."""
    if (data.experiment_id is None) == (data.experiment_key is None):
        errors.extend(user_error("experimentId", "Give the experiment's id or its key.", ProblemCode.INVALID))
        return None
    if data.experiment_key is not None:
        return data.experiment_key
    pk = pk_of(data.experiment_id, "Experiment")
    if pk is None:
        errors.extend(user_error("experimentId", "Not an Experiment id."))
    return pk


def _user_pk(gid: relay.GlobalID | None, errors: list[UserError]) -> int | None:
    if gid is None:
        return None
    pk = pk_of(gid, "User")
    if pk is None:
        errors.extend(not_an_id("userId", "User"))
    return pk


def _assignment(value: assignments.AssignedVariant | None) -> VariantAssignment | None:
    return None if value is None else VariantAssignment.from_value(value)


@strawberry.type
class ExperimentAssignmentMutation:
    @strawberry.mutation(
        description="A user's variant of a RUNNING test: bucketed once, then always the stored one.",
        permission_classes=[allow(ASSIGNERS)],
    )
    async def assign_variant(self, info: Ctx, input: AssignVariantInput) -> AssignVariantPayload | None:
        errors: list[UserError] = []
        experiment = _experiment_ref(input, errors)
        requested = _user_pk(input.user_id, errors)
        if errors or experiment is None:
            return AssignVariantPayload(assignment=None, user_errors=errors)
        subject = assignments.subject_of(viewer=info.context.viewer, user_id=requested)
        if not subject.ok or subject.value is None:
            return AssignVariantPayload(
                assignment=None, user_errors=[UserError.from_problem(p) for p in subject.problems]
            )
        user_id = subject.value

        value, errors = await run_mutation(
            info,
            operation="assignVariant",
            input=input,
            write=lambda session, actor: assignments.assign_variant(
                session=session, experiment=experiment, user_id=user_id
            ),
            reread=assignments.stored_assignment,
        )
        return AssignVariantPayload(assignment=_assignment(value), user_errors=errors)

    @strawberry.mutation(
        description="Count one conversion (and its revenue) of a user assigned in a RUNNING test.",
        permission_classes=[allow(CONVERSION_RECORDERS)],
    )
    async def record_conversion(
        self, info: Ctx, input: RecordConversionInput
    ) -> RecordConversionPayload | None:
        errors: list[UserError] = []
        experiment = _experiment_ref(input, errors)
        user_id = _user_pk(input.user_id, errors)
        if errors or experiment is None or user_id is None:
            return RecordConversionPayload(assignment=None, user_errors=errors)

        value, errors = await run_mutation(
            info,
            operation="recordConversion",
            input=input,
            write=lambda session, actor: assignments.record_conversion(
                session=session, experiment=experiment, user_id=user_id, revenue=input.revenue
            ),
            reread=assignments.stored_assignment,
        )
        return RecordConversionPayload(assignment=_assignment(value), user_errors=errors)
