"""Feature-flag variant mutations: add, update, remove one variant, or replace a segment's variants.

A variant has no global id: it is named by its flag, its segment (omitted for the variants of every
segment) and its key, which the unique index on feature_flag_rollouts makes one row. How an input
names its flag (`flag_target`) is shared with the flag mutations. Business rules are in
resolvers/flags/variant_writes.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import FLAG_WRITERS
from resolvers.flags import reads, variant_writes, writes
from resolvers.outcomes import Outcome, Problem, ProblemCode
from schema.flags.types import FeatureFlag, FlagRollout
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, pk_of, run_mutation
from schema.permissions import allow

REASON_DESCRIPTION = "Why, for the audit trail (up to 500 characters)."
FLAG_ID_DESCRIPTION = "The flag, by global id (or give `flagKey`)."
FLAG_KEY_DESCRIPTION = "The flag, by key (or give `flagId`)."
SEGMENT_DESCRIPTION = "The user segment of the variants; omit it for the variants of every segment."
WEIGHT_DESCRIPTION = "Share among the segment's active variants, in tenths of a percent (0-1000)."


@strawberry.input(description="One variant of a segment.")
class FlagVariantInput:
    variant_key: str = strawberry.field(description="Key of the variant (letters, digits, '_', '.', '-').")
    variant_value: str | None = strawberry.field(default=None, description="Payload the apps receive.")
    weight: int = strawberry.field(description=WEIGHT_DESCRIPTION)
    active: bool = strawberry.field(default=True, description="Whether evaluation uses it.")


@strawberry.input(
    description=(
        "Add one variant. Accepted only if the segment's active weights then total 1000: on an empty "
        "segment with weight 1000, or inactive; build a segment of several variants with setFlagVariants."
    )
)
class AddFlagVariantInput:
    flag_id: relay.GlobalID | None = strawberry.field(default=None, description=FLAG_ID_DESCRIPTION)
    flag_key: str | None = strawberry.field(default=None, description=FLAG_KEY_DESCRIPTION)
    user_segment: str | None = strawberry.field(default=None, description=SEGMENT_DESCRIPTION)
    variant_key: str = strawberry.field(description="Key of the new variant, free in its segment.")
    variant_value: str | None = strawberry.field(default=None, description="Payload the apps receive.")
    weight: int = strawberry.field(description=WEIGHT_DESCRIPTION)
    active: bool = strawberry.field(default=True, description="Whether evaluation uses it.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(
    description=(
        "Change one variant; omitted fields stay. Accepted only if the segment's active weights still "
        "total 1000 (or none is active): re-weight several variants with setFlagVariants."
    )
)
class UpdateFlagVariantInput:
    flag_id: relay.GlobalID | None = strawberry.field(default=None, description=FLAG_ID_DESCRIPTION)
    flag_key: str | None = strawberry.field(default=None, description=FLAG_KEY_DESCRIPTION)
    user_segment: str | None = strawberry.field(default=None, description=SEGMENT_DESCRIPTION)
    variant_key: str = strawberry.field(description="Key of the variant.")
    weight: int | None = strawberry.field(default=None, description=WEIGHT_DESCRIPTION)
    variant_value: str | None = strawberry.field(default=None, description="Payload the apps receive.")
    active: bool | None = strawberry.field(default=None, description="Whether evaluation uses it.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(
    description="Remove one variant, if the segment's remaining active weights total 1000 (or none is left)."
)
class RemoveFlagVariantInput:
    flag_id: relay.GlobalID | None = strawberry.field(default=None, description=FLAG_ID_DESCRIPTION)
    flag_key: str | None = strawberry.field(default=None, description=FLAG_KEY_DESCRIPTION)
    user_segment: str | None = strawberry.field(default=None, description=SEGMENT_DESCRIPTION)
    variant_key: str = strawberry.field(description="Key of the variant.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(
    description=(
        "All the variants of one segment, replacing those it has (the recommended way to change "
        "weights): active weights total 1000, or none is active. Variants whose key stays keep their "
        "place in the hashing order, so their users stay with them."
    )
)
class SetFlagVariantsInput:
    flag_id: relay.GlobalID | None = strawberry.field(default=None, description=FLAG_ID_DESCRIPTION)
    flag_key: str | None = strawberry.field(default=None, description=FLAG_KEY_DESCRIPTION)
    user_segment: str | None = strawberry.field(default=None, description=SEGMENT_DESCRIPTION)
    variants: list[FlagVariantInput] = strawberry.field(description="The segment's variants (up to 50).")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="A flag and the variants of the segment changed, or why nothing was written.")
class FlagVariantsPayload:
    flag: FeatureFlag | None = strawberry.field(description="The flag after the change.")
    user_segment: str | None = strawberry.field(description="The segment changed; null for every segment.")
    variants: list[FlagRollout] | None = strawberry.field(
        description="The segment's variants after the change, in hashing order."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def flag_target(
    gid: relay.GlobalID | None, key: str | None, id_field: str, key_field: str
) -> writes.FlagRef | UserError:
    """The flag an input names by global id or by key (snake_case field names, as in Problems)."""
    if (gid is None) == (key is None):
        message = "Give the flag's id or its key (exactly one)."
        return UserError.from_problem(Problem(id_field, message, ProblemCode.REQUIRED))
    if gid is None:
        return writes.FlagRef(key=key, field=key_field)
    pk = pk_of(gid, "FeatureFlag")
    if pk is None:
        return UserError.from_problem(Problem(id_field, "Not a FeatureFlag id.", ProblemCode.NOT_FOUND))
    return writes.FlagRef(id=pk, field=id_field)


def _spec(data: FlagVariantInput | AddFlagVariantInput) -> variant_writes.VariantSpec:
    return variant_writes.VariantSpec(
        variant_key=data.variant_key, weight=data.weight, variant_value=data.variant_value, active=data.active
    )


async def _variants_payload(
    info: Ctx,
    operation: str,
    input: Any,
    change: Callable[..., Awaitable[Outcome[reads.VariantGroup]]],
    **arguments: Any,
) -> FlagVariantsPayload:
    """Run the variant write `change` on the flag and segment `input` names, with `arguments`."""
    ref = flag_target(input.flag_id, input.flag_key, "flag_id", "flag_key")
    if isinstance(ref, UserError):
        return FlagVariantsPayload(flag=None, user_segment=None, variants=None, user_errors=[ref])
    segment = input.user_segment
    group, errors = await run_mutation(
        info,
        operation=operation,
        input=input,
        write=partial(change, ref=ref, segment=segment, reason=input.reason, **arguments),
        # Flag writers are staff, who see every flag: the loaders find what was written.
        reread=lambda context, stored: reads.variant_group(
            context=context, flag_id=int(stored["id"]), segment=segment
        ),
    )
    if group is None:
        return FlagVariantsPayload(flag=None, user_segment=None, variants=None, user_errors=errors)
    return FlagVariantsPayload(
        flag=FeatureFlag.from_row(group.flag),
        user_segment=group.segment,
        variants=[FlagRollout.from_row(row) for row in group.rows],
        user_errors=errors,
    )


@strawberry.type
class FlagVariantMutation:
    @strawberry.mutation(
        description="Add one variant to a segment of a flag (see AddFlagVariantInput).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def add_flag_variant(self, info: Ctx, input: AddFlagVariantInput) -> FlagVariantsPayload | None:
        return await _variants_payload(
            info, "addFlagVariant", input, variant_writes.add_variant, variant=_spec(input)
        )

    @strawberry.mutation(
        description="Change one variant of a flag (see UpdateFlagVariantInput).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def update_flag_variant(
        self, info: Ctx, input: UpdateFlagVariantInput
    ) -> FlagVariantsPayload | None:
        patch = variant_writes.VariantPatch(
            weight=input.weight, variant_value=input.variant_value, active=input.active
        )
        return await _variants_payload(
            info,
            "updateFlagVariant",
            input,
            variant_writes.update_variant,
            variant_key=input.variant_key,
            patch=patch,
        )

    @strawberry.mutation(
        description="Remove one variant of a flag (see RemoveFlagVariantInput).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def remove_flag_variant(
        self, info: Ctx, input: RemoveFlagVariantInput
    ) -> FlagVariantsPayload | None:
        return await _variants_payload(
            info, "removeFlagVariant", input, variant_writes.remove_variant, variant_key=input.variant_key
        )

    @strawberry.mutation(
        description="Replace all the variants of one segment of a flag at once (the way to change weights).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def set_flag_variants(self, info: Ctx, input: SetFlagVariantsInput) -> FlagVariantsPayload | None:
        return await _variants_payload(
            info,
            "setFlagVariants",
            input,
            variant_writes.set_variants,
            variants=[_spec(v) for v in input.variants],
        )
