"""The general audit log (auditLog), the runtime settings (settings) and the background jobs
(schema/admin/jobs.py), admins only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ADMINS
from resolvers.admin import reads as admin_reads
from schema.admin.jobs import JobQuery
from schema.admin.types import AuditLogEntry, Setting
from schema.connections import Connection, page_request, paged
from schema.nodes import filter_pk
from schema.permissions import allow


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


def _actor_pk(gid: relay.GlobalID | None) -> int | None:
    return filter_pk(gid, "User", "actorUserId")


def audit_filter(given: AuditLogFilterInput | None) -> admin_reads.AuditFilter:
    """The resolvers' filter of the input (auditLog and auditLogAppended)."""
    f = given or AuditLogFilterInput()
    return admin_reads.AuditFilter(
        entity_type=f.entity_type,
        entity_id=f.entity_id,
        actor_user_id=_actor_pk(f.actor_user_id),
        action=f.action,
        start=f.from_,
        end=f.to,
    )


@strawberry.type
class AdminQuery(JobQuery):
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
        criteria = audit_filter(filter)
        request = page_request(first, after, last, before)
        return await paged(
            info.context,
            lambda session: admin_reads.list_audit_log(session=session, filter=criteria, page=request),
            AuditLogEntry.from_row,
        )

    @strawberry.field(
        description="The runtime settings by key, a page at a time (admins); updateSetting changes them.",
        permission_classes=[allow(ADMINS)],
    )
    async def settings(
        self,
        info: Ctx,
        key_prefix: Annotated[
            str | None, strawberry.argument(description="Only keys starting with this text, e.g. loyalty.")
        ] = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Setting] | None:
        request = page_request(first, after, last, before)
        return await paged(
            info.context,
            lambda session: admin_reads.list_settings(session=session, key_prefix=key_prefix, page=request),
            Setting.from_row,
        )
