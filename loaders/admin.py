"""Admin-domain loaders: runtime settings, which only admins see (as the admin root fields)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.policies import ADMINS
from core.viewer import Viewer
from loaders.base import Loader, one_per_key
from models.admin import Setting


def settings_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Admins see every setting; anyone else none."""
    return true() if viewer.role in ADMINS else false()


class SettingByIdLoader(Loader[int, Setting | None]):
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[Setting | None]:
        query = select(Setting).where(Setting.id.in_(keys), settings_visible_to(self.viewer))
        return one_per_key(keys, await session.scalars(query), lambda r: r.id)
