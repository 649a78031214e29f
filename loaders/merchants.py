"""Merchant loaders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loaders.base import Loader, one_per_key
from loaders.visibility import merchant_owned_by
from models.merchants import Merchant, MerchantCategory, PreferredMerchant


class MerchantByIdLoader(Loader[int, Merchant | None]):
    # Merchant profiles are public (the app's merchant search); served by the primary key.
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[Merchant | None]:
        rows = await session.scalars(select(Merchant).where(Merchant.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


class MerchantCategoryByIdLoader(Loader[int, MerchantCategory | None]):
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[MerchantCategory | None]:
        rows = await session.scalars(select(MerchantCategory).where(MerchantCategory.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


class PartnershipByMerchantLoader(Loader[int, PreferredMerchant | None]):
    # Partnership terms are private: staff, or the merchant's own staff (uq_preferred_merchants_merchant_id).
    async def load_batch(self, session: AsyncSession, keys: list[int]) -> list[PreferredMerchant | None]:
        query = select(PreferredMerchant).where(
            PreferredMerchant.merchant_id.in_(keys),
            merchant_owned_by(self.viewer, PreferredMerchant.merchant_id),
        )
        return one_per_key(keys, await session.scalars(query), lambda r: r.merchant_id)
