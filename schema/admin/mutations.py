"""Runtime settings (updateSetting) and a user's password reset (adminResetPassword), admins only."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx, RequestContext
from core.policies import ADMINS
from loaders.admin import SettingByIdLoader
from models import admin as m
from resolvers.admin import writes
from resolvers.auth.admin_reset import AdminReset, admin_reset_password
from schema.admin.types import Setting
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
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


@strawberry.input(description="The user whose password an admin resets.")
class AdminResetPasswordInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="Whether the reset was done, or why not.")
class AdminResetPasswordPayload:
    ok: bool = strawberry.field(description="True when the link was issued and the sessions ended.")
    revoked_sessions: int | None = strawberry.field(
        description="Sessions ended (0 when none was open; null when the answer is a replay)."
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


async def _replayed_reset(context: RequestContext, ref: dict[str, Any]) -> AdminReset:
    # A replay defers nothing: the first request's job sends the link.
    return AdminReset(user_id=int(ref["id"]), revoked_sessions=None)


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

    @strawberry.mutation(
        description=(
            "Reset a user's password (admins): the account gets a reset link, its password stops working"
            " until the link sets a new one, and every session ends."
        ),
        permission_classes=[allow(ADMINS)],
    )
    async def admin_reset_password(
        self, info: Ctx, input: AdminResetPasswordInput
    ) -> AdminResetPasswordPayload | None:
        user_id = pk_of(input.user_id, "User")
        if user_id is None:
            return AdminResetPasswordPayload(
                ok=False, revoked_sessions=None, user_errors=not_an_id("userId", "User")
            )
        write = partial(admin_reset_password, user_id=user_id, now=dt.datetime.now(dt.UTC))
        done, errors = await run_mutation(
            info, operation="adminResetPassword", input=input, write=write, reread=_replayed_reset
        )
        return AdminResetPasswordPayload(
            ok=done is not None,
            revoked_sessions=None if done is None else done.revoked_sessions,
            user_errors=errors,
        )
