"""Viewers, statement counting and row builders shared by the flag tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
MARKETER = Viewer(role=Role.MARKETER, user_id=2)
ANALYST = Viewer(role=Role.ANALYST, user_id=3)
MERCHANT = Viewer(role=Role.MERCHANT, user_id=4, merchant_id=1)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=5)
SERVICE = Viewer(role=Role.SERVICE)
STAFF_VIEWERS = (ADMIN, MARKETER, ANALYST)
NOT_STAFF = (MERCHANT, CUSTOMER, SERVICE, ANONYMOUS)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def without_seeded_flags(db: AsyncSession) -> None:
    """Delete the reference flags inside the test's transaction, so lists hold only the test's rows."""
    await db.execute(delete(FeatureFlag))
