"""Feature-flag reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.flags import FeatureFlag


async def list_flags(*, session: AsyncSession) -> Sequence[FeatureFlag]:
    """Return every flag ordered by key."""
    return (await session.scalars(select(FeatureFlag).order_by(FeatureFlag.key))).all()
