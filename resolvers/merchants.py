"""Merchant reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.merchants import MerchantCategory


async def list_categories(*, session: AsyncSession, active_only: bool = False) -> Sequence[MerchantCategory]:
    """Return merchant categories ordered by name."""
    query = select(MerchantCategory).order_by(MerchantCategory.name, MerchantCategory.id)
    if active_only:
        query = query.where(MerchantCategory.is_active)
    return (await session.scalars(query)).all()
