"""The admin loaders serve several keys with one statement, in key order, to admins only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from loaders.admin import SettingByIdLoader
from tests.models import factories as f
from tests.support import load_counted

ADMIN = Viewer(role=Role.ADMIN, user_id=1)


async def test_settings_by_id_in_key_order_admins_only(db: AsyncSession, settings: Settings) -> None:
    a, b = await f.make_setting(db), await f.make_setting(db)
    keys = [b.id, f.MISSING_ID, a.id]

    rows, statements = await load_counted(db, settings, SettingByIdLoader, keys, viewer=ADMIN)
    hidden, _ = await load_counted(db, settings, SettingByIdLoader, keys, viewer=Viewer(role=Role.MARKETER))

    assert len(statements) == 1
    assert [None if r is None else r.id for r in rows] == [b.id, None, a.id]
    assert hidden == [None, None, None]
