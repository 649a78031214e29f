"""Feature-flag mutations: create, update, the kill switch, rollout percentage and delete; the variant
mutations (schema/flags/variant_mutations.py) join them in `FlagMutation`.

A flag is targeted by its global id or by its key (one of the two). Business rules are in
resolvers/flags/writes.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import FLAG_WRITERS
from loaders.flags import FeatureFlagByIdLoader
from models import flags as m
from resolvers.flags import writes
from resolvers.outcomes import Outcome
from schema.flags.types import FeatureFlag, FlagCategory, FlagType
from schema.flags.variant_mutations import REASON_DESCRIPTION, FlagVariantMutation, flag_target
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, run_mutation, stored_id
from schema.permissions import allow

ID_DESCRIPTION = "The flag, by global id (or give `key`)."
KEY_DESCRIPTION = "The flag, by key (or give `id`)."
# Flag writers are staff, who see every flag: the loader finds what was written.
REREAD = by_id(FeatureFlagByIdLoader)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="The kill switch: a flag on or off for everyone, and why.")
class ToggleFlagInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    enabled: bool = strawberry.field(description="On or off.")
    reason: str = strawberry.field(description="Why (1-500 characters); required.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="The share of users who get a flag.")
class SetFlagRolloutInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    rollout_percentage: int = strawberry.field(description="0-100.")
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A flag to delete with its variants; its audit trail stays.")
class DeleteFlagInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description=ID_DESCRIPTION)
    key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    reason: str | None = strawberry.field(default=None, description=REASON_DESCRIPTION)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The flag as written, or why nothing was written.")
class FlagPayload:
    flag: FeatureFlag | None = strawberry.field(description="The flag after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The deleted flag's id, or why nothing was deleted.")
class DeleteFlagPayload:
    deleted_flag_id: relay.GlobalID | None = strawberry.field(description="Global id of the deleted flag.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _payload(row: m.FeatureFlag | None, errors: list[UserError]) -> FlagPayload:
    return FlagPayload(flag=None if row is None else FeatureFlag.from_row(row), user_errors=errors)


async def _flag_payload(
    info: Ctx,
    operation: str,
    input: Any,
    change: Callable[..., Awaitable[Outcome[m.FeatureFlag]]],
    **arguments: Any,
) -> FlagPayload:
    """Run the flag write `change` on the flag `input` names, with `arguments`."""
    ref = flag_target(input.id, input.key, "id", "key")
    if isinstance(ref, UserError):
        return _payload(None, [ref])
    write = partial(change, ref=ref, reason=input.reason, **arguments)
    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=REREAD)
    return _payload(row, errors)


@strawberry.type
class FlagCoreMutation:
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
        write = partial(writes.create_flag, data=data, reason=input.reason)
        row, errors = await run_mutation(
            info, operation="createFlag", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)

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
        return await _flag_payload(info, "updateFlag", input, writes.update_flag, changes=changes)

    @strawberry.mutation(
        description="The kill switch: turn a flag on or off for everyone; the next evaluation sees it.",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def toggle_flag(self, info: Ctx, input: ToggleFlagInput) -> FlagPayload | None:
        return await _flag_payload(info, "toggleFlag", input, writes.toggle_flag, enabled=input.enabled)

    @strawberry.mutation(
        description="Set the share of users (0-100) who get a flag.", permission_classes=[allow(FLAG_WRITERS)]
    )
    async def set_flag_rollout(self, info: Ctx, input: SetFlagRolloutInput) -> FlagPayload | None:
        return await _flag_payload(
            info, "setFlagRollout", input, writes.set_rollout_percentage, percentage=input.rollout_percentage
        )

    @strawberry.mutation(
        description="Delete a flag and its variants; its audit trail stays.",
        permission_classes=[allow(FLAG_WRITERS)],
    )
    async def delete_flag(self, info: Ctx, input: DeleteFlagInput) -> DeleteFlagPayload | None:
        ref = flag_target(input.id, input.key, "id", "key")
        if isinstance(ref, UserError):
            return DeleteFlagPayload(deleted_flag_id=None, user_errors=[ref])
        write = partial(writes.delete_flag, ref=ref, reason=input.reason)
        deleted, errors = await run_mutation(
            info, operation="deleteFlag", input=input, write=write, reread=stored_id
        )
        gid = None if deleted is None else relay.GlobalID("FeatureFlag", str(deleted))
        return DeleteFlagPayload(deleted_flag_id=gid, user_errors=errors)


# Base order is field order in the schema: the flag's own mutations before its variants'.
@strawberry.type
class FlagMutation(FlagCoreMutation, FlagVariantMutation):
    pass
