"""Subscriptions of administration: the general audit log as it grows (admins)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import strawberry

from core.change_feed import Watch
from core.context import Ctx
from core.live import LiveContext, live_context, open_watch
from core.policies import ADMINS
from resolvers.admin import audit_feed
from resolvers.admin.reads import AuditFilter
from schema.admin.queries import AuditLogFilterInput, audit_filter
from schema.admin.types import AuditLogEntry
from schema.permissions import allow


@strawberry.type
class AdminSubscription:
    @strawberry.subscription(
        description=(
            "Entries of the general audit log matching the filter, each once, as their changes commit "
            "(none from before subscribing; admins)."
        ),
        permission_classes=[allow(ADMINS)],
    )
    async def audit_log_appended(
        self, info: Ctx, filter: AuditLogFilterInput | None = None
    ) -> AsyncGenerator[AuditLogEntry | None, None]:
        context = live_context(info.context)
        criteria = audit_filter(filter)
        audit_feed.check_filter(criteria)
        watch = open_watch(context, audit_feed.AUDIT_TAGS)
        try:
            cursor = await audit_feed.audit_cursor(context)
        except BaseException:
            watch.close()
            raise
        return _appended(context, watch, cursor, criteria)


async def _appended(
    context: LiveContext, watch: Watch, cursor: audit_feed.AuditCursor, criteria: AuditFilter
) -> AsyncGenerator[AuditLogEntry | None, None]:
    try:
        while True:
            await context.take(watch)
            rows = await audit_feed.appended_entries(
                context, cursor=cursor, filter=criteria, now=time.monotonic()
            )
            for row in rows:
                yield AuditLogEntry.from_row(row)  # type: ignore[arg-type]
    finally:
        watch.close()
