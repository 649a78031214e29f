"""Feature-flag mutations: create, update, the kill switch, rollout percentage, delete, and variants.

A flag is targeted by its global id or by its key (one of the two). A variant has no global id: it is
named by its flag, its segment (omitted for the variants of every segment) and its key, which the
unique index on feature_flag_rollouts makes one row. Business rules are in resolvers/flags/writes.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.context import Ctx
from core.policies import FLAG_WRITERS
from models import flags as m
from resolvers.audit import Actor
from resolvers.flags import variant_writes, writes
from resolvers.outcomes import Outcome, Problem, ProblemCode
from schema.flags.types import FeatureFlag, FlagCategory, FlagRollout, FlagType
from schema.mutation_runner import IDEMPOTENCY_KEY_DESCRIPTION, UserError, pk_of, run_mutation
from schema.permissions import allow

ID_DESCRIPTION = "The flag, by global id (or give `key`)."
KEY_DESCRIPTION = "The flag, by key (or give `id`)."
FLAG_ID_DESCRIPTION = "The flag, by global id (or give `flagKey`)."
FLAG_KEY_DESCRIPTION = "The flag, by key (or give `flagId`)."
REASON_DESCRIPTION = "Why, for the audit trail (up to 500 characters)."
SEGMENT_DESCRIPTION = "The user segment of the variants; omit it for the variants of every segment."
WEIGHT_DESCRIPTION = "Share among the segment's active variants, in tenths of a percent (0-1000)."


@strawberry.input(description="A new feature flag.")
class CreateFlagInput:
    key: str = strawberry.field(
        description="Stable key the apps use: lower-case letters, digits, '_', '.', '-' (up to 100); unique."
    )
    name: str = strawberry.field(description="Display name (1-255 characters).")
    category: FlagCategory = strawberry.field(description="Area of the product.")
    type: FlagType | None = strawberry.field(default=None, description="Purpose; RELEASE when omitted.")
    description: str | None = strawberry.field(default=None, description="What it controls (up to 5000).")
    enabled: bool = strawberry.field(default=False, description="Switched on at once (default off).")
    rollout_percentage: int = strawberry.field(default=100, description="Share of users who get it (0-100).")
    owner_email: str | None = strawberry.field(default=None, description="Who to ask about it.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(
    description=(
        "Changes to a flag's description fields; omitted fields stay, an empty description or owner "
        "clears it. The key never changes; switch with toggleFlag, roll out with setFlagRollout."
    )
)
class UpdateFlagInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    name: str | None = strawberry.field(default=None, description="Display name (1-255 characters).")
    description: str | None = strawberry.field(default=None, description="What it controls (up to 5000).")
    category: FlagCategory | None = strawberry.field(default=None, description="Area of the product.")
    type: FlagType | None = strawberry.field(default=None, description="Purpose.")
    owner_email: str | None = strawberry.field(default=None, description="Who to ask about it.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="The kill switch: a flag on or off for everyone, and why.")
class ToggleFlagInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    enabled: bool = strawberry.field(description="On or off.")
    reason: str = strawberry.field(description="Why (1-500 characters); required.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="The share of users who get a flag.")
class SetFlagRolloutInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    rollout_percentage: int = strawberry.field(description="0-100.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(description="A flag to delete with its variants; its audit trail stays.")
class DeleteFlagInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(
    description="Remove one variant, if the segment's remaining active weights total 1000 (or none is left)."
)
class RemoveFlagVariantInput:
    flag_id: relay.GlobalID | None = strawberry.field(default=None, description=FLAG_ID_DESCRIPTION)
    flag_key: str | None = strawberry.field(default=None, description=FLAG_KEY_DESCRIPTION)
    user_segment: str | None = strawberry.field(default=None, description=SEGMENT_DESCRIPTION)
    variant_key: str = strawberry.field(description="Key of the variant.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="The flag as written, or why nothing was written.")
class FlagPayload:
    flag: FeatureFlag | None = strawberry.field(description="The flag after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The deleted flag's id, or why nothing was deleted.")
class DeleteFlagPayload:
    deleted_flag_id: relay.GlobalID | None = strawberry.field(description="Global id of the deleted flag.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="A flag and the variants of the segment changed, or why nothing was written.")
class FlagVariantsPayload:
    flag: FeatureFlag | None = strawberry.field(description="The flag after the change.")
    user_segment: str | None = strawberry.field(description="The segment changed; null for every segment.")
    variants: list[FlagRollout] | None = strawberry.field(
        description="The segment's variants after the change, in hashing order."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _target(
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


async def _reread_flag(session: AsyncSession, ref: dict[str, Any]) -> m.FeatureFlag | None:
    return await session.get(m.FeatureFlag, ref["id"])


async def _flag_payload(
    info: Ctx,
    operation: str,
    input: Any,
    change: Callable[[AsyncSession, Actor, writes.FlagRef], Awaitable[Outcome[m.FeatureFlag]]],
) -> FlagPayload:
    ref = _target(input.id, input.key, "id", "key")
    if isinstance(ref, UserError):
        return FlagPayload(flag=None, user_errors=[ref])

    async def write(session: AsyncSession, actor: Actor) -> Outcome[m.FeatureFlag]:
        return await change(session, actor, ref)

    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=_reread_flag)
    return FlagPayload(flag=None if row is None else FeatureFlag.from_row(row), user_errors=errors)


async def _variants_payload(
    info: Ctx,
    operation: str,
    input: Any,
    change: Callable[[AsyncSession, Actor, writes.FlagRef], Awaitable[Outcome[variant_writes.VariantGroup]]],
) -> FlagVariantsPayload:
    ref = _target(input.flag_id, input.flag_key, "flag_id", "flag_key")
    if isinstance(ref, UserError):
        return FlagVariantsPayload(flag=None, user_segment=None, variants=None, user_errors=[ref])

    async def write(session: AsyncSession, actor: Actor) -> Outcome[variant_writes.VariantGroup]:
        return await change(session, actor, ref)

    async def reread(session: AsyncSession, stored: dict[str, Any]) -> variant_writes.VariantGroup | None:
        return await variant_writes.read_variant_group(
            session=session, flag_id=stored["id"], segment=input.user_segment
        )

    group, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=reread)
    if group is None:
        return FlagVariantsPayload(flag=None, user_segment=None, variants=None, user_errors=errors)
    return FlagVariantsPayload(
        flag=FeatureFlag.from_row(group.flag),
        user_segment=group.segment,
        variants=[FlagRollout.from_row(row) for row in group.rows],
        user_errors=errors,
    )


def _spec(data: FlagVariantInput | AddFlagVariantInput) -> variant_writes.VariantSpec:
    return variant_writes.VariantSpec(
        variant_key=data.variant_key, weight=data.weight, variant_value=data.variant_value, active=data.active
    )


@strawberry.type
class FlagMutation:
    @strawberry.mutation(description="Create a feature flag.", permission_classes=[allow(FLAG_WRITERS)])
    async def create_flag(self, info: Ctx, input: CreateFlagInput) -> FlagPayload | None:
        data = writes.NewFlag(
            key=input.key,
            name=input.name,
            category=m.FlagCategory(input.category),
            type=m.FlagType(input.type or m.FlagType.RELEASE),
            description=input.description,
            enabled=input.enabled,
            rollout_percentage=input.rollout_percentage,
            owner_email=input.owner_email,
        )

        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.FeatureFlag]:
            return await writes.create_flag(session=session, actor=actor, data=data, reason=input.reason)

        row, errors = await run_mutation(
            info, operation="createFlag", input=input, write=write, reread=_reread_flag
        )
        return FlagPayload(flag=None if row is None else FeatureFlag.from_row(row), user_errors=errors)

    @strawberry.mutation(
        description="Change a flag's name, description, category, type or owner.",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def update_flag(self, info: Ctx, input: UpdateFlagInput) -> FlagPayload | None:
        changes = writes.FlagChanges(
            name=input.name,
            description=input.description,
            category=None if input.category is None else m.FlagCategory(input.category),
            type=None if input.type is None else m.FlagType(input.type),
            owner_email=input.owner_email,
        )
        return await _flag_payload(
            info,
            "updateFlag",
            input,
            lambda session, actor, ref: writes.update_flag(
                session=session, actor=actor, ref=ref, changes=changes, reason=input.reason
            ),
        )

    @strawberry.mutation(
        description="The kill switch: turn a flag on or off for everyone; the next evaluation sees it.",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def toggle_flag(self, info: Ctx, input: ToggleFlagInput) -> FlagPayload | None:
        return await _flag_payload(
            info,
            "toggleFlag",
            input,
            lambda session, actor, ref: writes.toggle_flag(
                session=session, actor=actor, ref=ref, enabled=input.enabled, reason=input.reason
            ),
        )

    @strawberry.mutation(
        description="Set the share of users (0-100) who get a flag.", permission_classes=[allow(FLAG_WRITERS)]
    )
    async def set_flag_rollout(self, info: Ctx, input: SetFlagRolloutInput) -> FlagPayload | None:
        return await _flag_payload(
            info,
            "setFlagRollout",
            input,
            lambda session, actor, ref: writes.set_rollout_percentage(
                session=session,
                actor=actor,
                ref=ref,
                percentage=input.rollout_percentage,
                reason=input.reason,
            ),
        )

    @strawberry.mutation(
        description="Delete a flag and its variants; its audit trail stays.",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def delete_flag(self, info: Ctx, input: DeleteFlagInput) -> DeleteFlagPayload | None:
        ref = _target(input.id, input.key, "id", "key")
        if isinstance(ref, UserError):
            return DeleteFlagPayload(deleted_flag_id=None, user_errors=[ref])

        async def write(session: AsyncSession, actor: Actor) -> Outcome[int]:
            return await writes.delete_flag(session=session, actor=actor, ref=ref, reason=input.reason)

        async def reread(session: AsyncSession, stored: dict[str, Any]) -> int | None:
            return int(stored["id"])

        deleted, errors = await run_mutation(
            info, operation="deleteFlag", input=input, write=write, reread=reread
        )
        gid = None if deleted is None else relay.GlobalID("FeatureFlag", str(deleted))
        return DeleteFlagPayload(deleted_flag_id=gid, user_errors=errors)

    @strawberry.mutation(
        description="Add one variant to a segment of a flag (see AddFlagVariantInput).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def add_flag_variant(self, info: Ctx, input: AddFlagVariantInput) -> FlagVariantsPayload | None:
        return await _variants_payload(
            info,
            "addFlagVariant",
            input,
            lambda session, actor, ref: variant_writes.add_variant(
                session=session,
                actor=actor,
                ref=ref,
                segment=input.user_segment,
                variant=_spec(input),
                reason=input.reason,
            ),
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
            lambda session, actor, ref: variant_writes.update_variant(
                session=session,
                actor=actor,
                ref=ref,
                segment=input.user_segment,
                variant_key=input.variant_key,
                patch=patch,
                reason=input.reason,
            ),
        )

    @strawberry.mutation(
        description="Remove one variant of a flag (see RemoveFlagVariantInput).",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def remove_flag_variant(
        self, info: Ctx, input: RemoveFlagVariantInput
    ) -> FlagVariantsPayload | None:
        return await _variants_payload(
            info,
            "removeFlagVariant",
            input,
            lambda session, actor, ref: variant_writes.remove_variant(
                session=session,
                actor=actor,
                ref=ref,
                segment=input.user_segment,
                variant_key=input.variant_key,
                reason=input.reason,
            ),
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
            lambda session, actor, ref: variant_writes.set_variants(
                session=session,
                actor=actor,
                ref=ref,
                segment=input.user_segment,
                variants=[_spec(v) for v in input.variants],
                reason=input.reason,
            ),
        )
