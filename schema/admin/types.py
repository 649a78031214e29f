"""Administration's object types: runtime settings and the entries of the general audit log."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from core.viewer import Role
from models import admin as m
from schema.caching.hints import cache_hint
from schema.permissions import type_policy


@cache_hint(max_age=60)
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
@cache_hint(max_age=60)
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
