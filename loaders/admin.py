"""Admin-domain loaders: runtime settings, which only admins see (as the admin root fields)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Row, false, select, true

from core.policies import ADMINS
from core.viewer import Viewer
from loaders.base import Loader, Reader, one_per_key
from models.admin import AuditLogEntry, Setting

# What the GraphQL types read of a row (the audit log is only listed: resolvers/admin/reads.py).
SETTING_COLUMNS = (
    Setting.id, Setting.key, Setting.value, Setting.description, Setting.updated_by, Setting.updated_at,
)  # fmt: skip
AUDIT_LOG_COLUMNS = (
    AuditLogEntry.id, AuditLogEntry.action, AuditLogEntry.entity_type, AuditLogEntry.entity_id,
    AuditLogEntry.actor_label, AuditLogEntry.actor_role, AuditLogEntry.before, AuditLogEntry.after,
    AuditLogEntry.ip_address, AuditLogEntry.request_id, AuditLogEntry.created_at,
)  # fmt: skip


def settings_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Admins see every setting; anyone else none."""
    return true() if viewer.role in ADMINS else false()


class SettingByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*SETTING_COLUMNS).where(Setting.id.in_(keys), settings_visible_to(self.viewer))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)
