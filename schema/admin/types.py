"""Administration: runtime settings (updateSetting) and the general audit log (auditLog), admins only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.errors import BadUserInput
from core.policies import ADMINS
from core.viewer import Role
from models import admin as m
from resolvers.admin import reads as audit_log
from resolvers.admin import writes
from resolvers.audit import Actor
from resolvers.outcomes import Outcome
from schema.connections import Connection, page_request, paged
from schema.mutation_runner import IDEMPOTENCY_KEY_DESCRIPTION, UserError, run_mutation
from schema.permissions import allow, type_policy


@type_policy(Role.ADMIN)
@strawberry.type(description="A runtime setting the dashboards change (secrets live in the environment).")
class Setting:
    key: str = strawberry.field(description="Slug, e.g. loyalty.expiry_days.")
    value: JSON = strawberry.field(description="The value, any JSON.")
    description: str | None = strawberry.field(description="What it controls.")
    updated_by: str | None = strawberry.field(description="Who changed it last (user:42, service...).")
    updated_at: dt.datetime = strawberry.field(description="Last change (UTC).")

    @classmethod
    def from_row(cls, row: m.Setting) -> Setting:
        return cls(
            key=row.key,
            value=row.value,
            description=row.description,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )


# A plain type, not a Relay node: entries are only ever listed, never fetched or changed one by one.
@type_policy(Role.ADMIN)
@strawberry.type(description="One change recorded by the application: who did what to which entity.")
class AuditLogEntry:
    action: str = strawberry.field(description="What was done, e.g. campaign.update, setting.create.")
    entity_type: str = strawberry.field(description="Kind of entity, e.g. campaign, merchant, setting.")
    entity_id: int | None = strawberry.field(
        description="Database id of the entity (the number inside its global id), kept after it is gone."
    )
    actor_label: str = strawberry.field(description="Who: user:42, service, system.")
    actor_role: str | None = strawberry.field(description="The actor's role at the time.")
    before: JSON | None = strawberry.field(description="The entity before the change (no secrets).")
    after: JSON | None = strawberry.field(description="The entity after the change (no secrets).")
    ip_address: str | None = strawberry.field(description="Address the change came from.")
    request_id: str | None = strawberry.field(description="Id of the request that made it.")
    created_at: dt.datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def from_row(cls, row: m.AuditLogEntry) -> AuditLogEntry:
        return cls(
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            actor_label=row.actor_label,
            actor_role=row.actor_role,
            before=row.before,
            after=row.after,
            ip_address=None if row.ip_address is None else str(row.ip_address),
            request_id=row.request_id,
            created_at=row.created_at,
        )


@strawberry.input(description="Filters of the audit log; all given ones must match.")
class AuditLogFilterInput:
    entity_type: str | None = strawberry.field(default=None, description="Kind of entity, e.g. campaign.")
    entity_id: int | None = strawberry.field(
        default=None, description="Database id of the entity (with entityType: the number in its global id)."
    )
    actor_user_id: relay.GlobalID | None = strawberry.field(default=None, description="Changes by this User.")
    action: str | None = strawberry.field(default=None, description="Exact action, e.g. merchant.update.")
    from_: dt.datetime | None = strawberry.field(
        default=None, name="from", description="At or after this instant (UTC)."
    )
    to: dt.datetime | None = strawberry.field(default=None, description="Before this instant (UTC).")


@strawberry.input(description="A setting to create or change.")
class UpdateSettingInput:
    key: str = strawberry.field(description="Slug: lower-case letters, digits, '.', '_', '-' (up to 100).")
    value: JSON = strawberry.field(description="The new value: any JSON but null (up to 64 KiB).")
    description: str | None = strawberry.field(
        default=None, description="What it controls (up to 2000); omitted keeps the current one."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(description="The setting as written, or why nothing was written.")
class SettingPayload:
    setting: Setting | None = strawberry.field(description="The setting after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _actor_pk(gid: relay.GlobalID | None) -> int | None:
    if gid is None:
        return None
    if gid.type_name != "User":
        raise BadUserInput("Not a User id.", field="actorUserId")
    try:
        return int(gid.node_id)
    except ValueError as exc:
        raise BadUserInput("Not a User id.", field="actorUserId") from exc


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="The general audit log, newest first, a page at a time (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def audit_log(
        self,
        info: Ctx,
        filter: AuditLogFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditLogEntry] | None:
        f = filter or AuditLogFilterInput()
        criteria = audit_log.AuditFilter(
            entity_type=f.entity_type,
            entity_id=f.entity_id,
            actor_user_id=_actor_pk(f.actor_user_id),
            action=f.action,
            start=f.from_,
            end=f.to,
        )
        request = page_request(first, after, last, before)
        return await paged(
            info.context,
            lambda session: audit_log.list_audit_log(session=session, filter=criteria, page=request),
            AuditLogEntry.from_row,
        )


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Create or change a runtime setting (admins).", permission_classes=[allow(ADMINS)]
    )
    async def update_setting(self, info: Ctx, input: UpdateSettingInput) -> SettingPayload | None:
        async def write(session: AsyncSession, actor: Actor) -> Outcome[m.Setting]:
            return await writes.update_setting(
                session=session, actor=actor, key=input.key, value=input.value, description=input.description
            )

        async def reread(session: AsyncSession, ref: dict[str, Any]) -> m.Setting | None:
            return await session.get(m.Setting, ref["id"])

        row, errors = await run_mutation(
            info, operation="updateSetting", input=input, write=write, reread=reread
        )
        return SettingPayload(setting=None if row is None else Setting.from_row(row), user_errors=errors)
