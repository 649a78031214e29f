"""Merchant loaders."""

from __future__ import annotations

from sqlalchemy import Row, select

from loaders.base import Loader, Reader, one_per_key
from loaders.visibility import merchant_owned_by
from models.merchants import Merchant, MerchantCategory, PreferredMerchant

# What the GraphQL types read of a row; the loaders and the merchant lists select these, nothing more.
MERCHANT_COLUMNS = (
    Merchant.id, Merchant.code, Merchant.name, Merchant.description, Merchant.latitude, Merchant.longitude,
    Merchant.address, Merchant.city, Merchant.state, Merchant.zip_code, Merchant.country, Merchant.phone,
    Merchant.website, Merchant.operating_hours, Merchant.rating, Merchant.total_reviews, Merchant.is_active,
    Merchant.is_featured, Merchant.updated_at, Merchant.category_id,
)  # fmt: skip
CATEGORY_COLUMNS = (
    MerchantCategory.id, MerchantCategory.name, MerchantCategory.description, MerchantCategory.icon_name,
    MerchantCategory.color_code, MerchantCategory.is_active,
)  # fmt: skip
PARTNERSHIP_COLUMNS = (
    PreferredMerchant.merchant_id, PreferredMerchant.is_partner, PreferredMerchant.partnership_type,
    PreferredMerchant.commission_rate, PreferredMerchant.user_visits_total,
    PreferredMerchant.campaign_impressions, PreferredMerchant.campaign_conversions,
    PreferredMerchant.revenue_from_campaigns,
)  # fmt: skip


class MerchantByIdLoader(Loader[int, Row | None]):
    # Merchant profiles are public (the app's merchant search); served by the primary key.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        rows = await session.execute(select(*MERCHANT_COLUMNS).where(Merchant.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


class MerchantCategoryByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        rows = await session.execute(select(*CATEGORY_COLUMNS).where(MerchantCategory.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


class PartnershipByMerchantLoader(Loader[int, Row | None]):
    # Partnership terms are private: staff, or the merchant's own staff (uq_preferred_merchants_merchant_id).
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*PARTNERSHIP_COLUMNS).where(
            PreferredMerchant.merchant_id.in_(keys),
            merchant_owned_by(self.viewer, PreferredMerchant.merchant_id),
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.merchant_id)
