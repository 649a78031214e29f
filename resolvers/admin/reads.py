"""Admin reads: the general audit log (filters, newest-first pages) and the runtime settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select

from core.errors import BadUserInput
from loaders.admin import AUDIT_LOG_COLUMNS, SETTING_COLUMNS
from loaders.base import Reader
from models.admin import AuditLogEntry, Setting
from resolvers.pagination import Page, PageRequest, SortKey, paginate
from resolvers.text_inputs import filter_text

# ix_audit_log_created_at_id, read backwards; entity filters use ix_audit_log_entity_type_entity_id.
NEWEST_FIRST = SortKey(column=AuditLogEntry.created_at, id_column=AuditLogEntry.id, descending=True)
# The unique index on settings.key; a key sorts a setting next to its kin (loyalty.*, notifications.*).
BY_KEY = SortKey(column=Setting.key, id_column=Setting.id)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: int | None = None
    actor_user_id: int | None = None
    action: str | None = None
    # [start, end): from inclusive, to exclusive.
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def filtered_entries(f: AuditFilter) -> Select[Any]:
    """The audit entries the filter matches (`auditLog`'s page and `auditLogAppended`'s new rows)."""
    if f.start is not None and f.end is not None and f.start >= f.end:
        raise BadUserInput("`to` must be after `from`.", field="to")
    filter_text(f.entity_type, field="filter.entityType")
    filter_text(f.action, field="filter.action")
    query = select(*AUDIT_LOG_COLUMNS)
    if f.entity_type is not None:
        query = query.where(AuditLogEntry.entity_type == f.entity_type)
    if f.entity_id is not None:
        query = query.where(AuditLogEntry.entity_id == f.entity_id)
    if f.actor_user_id is not None:
        query = query.where(AuditLogEntry.actor_user_id == f.actor_user_id)
    if f.action is not None:
        query = query.where(AuditLogEntry.action == f.action)
    if f.start is not None:
        query = query.where(AuditLogEntry.created_at >= f.start)
    if f.end is not None:
        query = query.where(AuditLogEntry.created_at < f.end)
    return query


async def list_audit_log(
    *, session: Reader, filter: AuditFilter, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    """Return one page of audit entries, newest first, and the filtered query for totalCount."""
    query = filtered_entries(filter)
    return await paginate(session, query, key=NEWEST_FIRST, page=page), query


async def list_settings(
    *, session: Reader, key_prefix: str | None, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    """Return one page of settings by key (those starting with `key_prefix` when given)."""
    filter_text(key_prefix, field="keyPrefix")
    query = select(*SETTING_COLUMNS)
    if key_prefix:
        # startswith(autoescape): a '_' in the prefix is a literal underscore, not LIKE's wildcard.
        query = query.where(Setting.key.startswith(key_prefix, autoescape=True))
    return await paginate(session, query, key=BY_KEY, page=page), query
