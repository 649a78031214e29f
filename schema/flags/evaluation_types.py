"""GraphQL types of flag evaluation: the context a client sends and what each flag gives it."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from core.policies import EVERYONE
from models.flags import AppType as AppTypeEnum
from resolvers.flags import evaluation as rules
from schema.nodes import filter_pk
from schema.permissions import type_policy

AppType = strawberry.enum(AppTypeEnum, description="Which app is asking.")
FlagEvaluationReason = strawberry.enum(
    rules.Reason,
    name="FlagEvaluationReason",
    description="Why a flag has its value (OpenFeature's reasons).",
)
FlagEvaluationErrorCode = strawberry.enum(
    rules.EvaluationError,
    name="FlagEvaluationErrorCode",
    description="What prevented a normal evaluation (OpenFeature's error codes).",
)


@strawberry.input(description="Who the flags are evaluated for.")
class FlagContextInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Global id of the user (staff and services only): customers are always evaluated as"
            " themselves, anonymous callers by session."
        ),
    )
    session_id: str | None = strawberry.field(
        default=None, description="Session of the app; the bucketing key when there is no user."
    )
    segment: str | None = strawberry.field(
        default=None, description="User segment; rollouts targeting it win over the percentage."
    )
    app_type: AppType | None = strawberry.field(default=None, description="Which app is asking.")
    attributes: JSON | None = strawberry.field(
        default=None, description="Further attributes of the user; no rule uses them yet."
    )


def context_user_pk(value: strawberry.ID | None) -> int | None:
    """The database id inside the context's User global id."""
    return filter_pk(value, "User", "context.userId")


@type_policy(EVERYONE)
@strawberry.type(description="The value one flag has for the evaluated user, and why.")
class FlagEvaluation:
    key: str = strawberry.field(description="Key of the flag.")
    value: bool = strawberry.field(description="Whether the flag is on for this user.")
    variant: str | None = strawberry.field(description="Key of the variant the user falls in, if any.")
    variant_value: str | None = strawberry.field(description="Payload of that variant, if any.")
    reason: FlagEvaluationReason = strawberry.field(description="Why the flag has this value.")
    error_code: FlagEvaluationErrorCode | None = strawberry.field(
        description="Set when the value is a default because something was missing."
    )

    @classmethod
    def from_result(cls, result: rules.Evaluation) -> FlagEvaluation:
        return cls(
            key=result.key,
            value=result.value,
            variant=result.variant,
            variant_value=result.variant_value,
            reason=result.reason,
            error_code=result.error,
        )
