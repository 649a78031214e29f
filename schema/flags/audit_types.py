"""GraphQL types of the flag audit trail: the entries and a flag's paginated log."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import STAFF
from core.viewer import Role
from loaders.flags import AuditCountByFlagLoader, AuditEntriesByFlagLoader, FlagAuditEntryByIdLoader
from models import flags as m
from resolvers.flags import reads as flag_resolvers
from resolvers.pagination import PageRequest
from schema.caching.hints import cache_hint
from schema.connections import Connection, connection
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy

FlagAuditAction = strawberry.enum(m.FlagAuditAction, description="Kind of change made to a flag.")


@cache_hint(max_age=300)
@type_policy(STAFF)
@strawberry.federation.type(keys=["id"], description="One change to a flag, as the audit trail kept it.")
class FlagAuditEntry(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    flag_key: str = strawberry.field(description="Key of the flag (kept when the flag is deleted).")
    action: FlagAuditAction = strawberry.field(description="Kind of change.")
    old_value: JSON | None = strawberry.field(description="What changed, before.")
    new_value: JSON | None = strawberry.field(description="What changed, after.")
    changed_by: str = strawberry.field(description="Who made the change.")
    change_reason: str | None = strawberry.field(description="Why, as its author said.")
    ip_address: str | None = strawberry.field(
        description="Address the change came from (admins only).", permission_classes=[allow(Role.ADMIN)]
    )
    request_id: str | None = strawberry.field(description="Id of the request that made it.")
    created_at: dt.datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def from_row(cls, row: m.FlagAuditEntry) -> FlagAuditEntry:
        return cls(
            id=row.id,
            flag_key=row.flag_key,
            action=m.FlagAuditAction(row.action),
            old_value=row.old_value,
            new_value=row.new_value,
            changed_by=row.changed_by,
            change_reason=row.change_reason,
            ip_address=None if row.ip_address is None else str(row.ip_address),
            request_id=row.request_id,
            created_at=row.created_at,
        )

    by_id_loader = FlagAuditEntryByIdLoader


async def audit_log(info: Ctx, flag_id: int, request: PageRequest) -> Connection[FlagAuditEntry]:
    """One page of a flag's audit log; flags of a list asking for the same page share one statement."""
    ctx = info.context
    window = flag_resolvers.audit_window(request)
    rows = await ctx.loader(AuditEntriesByFlagLoader).load((flag_id, window))
    page = flag_resolvers.audit_page(rows=rows, window=window)

    async def total() -> int:
        return await ctx.loader(AuditCountByFlagLoader).load(flag_id)

    return connection(page, FlagAuditEntry.from_row, total)
