"""Runtime settings (updateSetting), admins only."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import ADMINS
from loaders.admin import SettingByIdLoader
from models import admin as m
from resolvers.admin import writes
from schema.admin.types import Setting
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, run_mutation
from schema.permissions import allow

# Settings writers are admins, who see every setting: the loader finds what was written.
REREAD = by_id(SettingByIdLoader)


@strawberry.input(description="A setting to create or change.")
class UpdateSettingInput:
    key: str = strawberry.field(description="Slug: lower-case letters, digits, '.', '_', '-' (up to 100).")
    value: JSON = strawberry.field(description="The new value: any JSON but null (up to 64 KiB).")
    description: str | None = strawberry.field(
        default=None, description="What it controls (up to 2000); omitted keeps the current one."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The setting as written, or why nothing was written.")
class SettingPayload:
    setting: Setting | None = strawberry.field(description="The setting after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _payload(row: m.Setting | None, errors: list[UserError]) -> SettingPayload:
    return SettingPayload(setting=None if row is None else Setting.from_row(row), user_errors=errors)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Create or change a runtime setting (admins).", permission_classes=[allow(ADMINS)]
    )
    async def update_setting(self, info: Ctx, input: UpdateSettingInput) -> SettingPayload | None:
        write = partial(
            writes.update_setting, key=input.key, value=input.value, description=input.description
        )
        row, errors = await run_mutation(
            info, operation="updateSetting", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)
