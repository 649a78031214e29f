"""Merchant categories, merchants with their location, and partnership terms."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Computed, Double, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    BigMoney,
    Json,
    check_between,
    check_in,
    check_non_negative,
    created_at,
    identity_pk,
    updated_at,
)


class PartnershipType(StrEnum):
    PREMIUM = "premium"
    STANDARD = "standard"
    TRIAL = "trial"


class MerchantCategory(Base):
    __tablename__ = "merchant_categories"
    __table_args__ = (CheckConstraint("color_code ~ '^#[0-9A-Fa-f]{6}$'", name="color_code_hex"),)

    id: Mapped[int] = identity_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    icon_name: Mapped[str | None] = mapped_column(String(100))
    color_code: Mapped[str | None] = mapped_column(String(7))
    is_active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Merchant(Base):
    __tablename__ = "merchants"
    __table_args__ = (
        check_between("latitude", -90, 90),
        check_between("longitude", -180, 180),
        check_between("rating", 0, 5),
        *check_non_negative("total_reviews"),
        # A btree, not the seed's GiST (which needs an extension the embedded server lacks): proximity
        # search narrows by a bounding box on latitude, then longitude, then ranks by haversine.
        Index("ix_merchants_latitude_longitude", "latitude", "longitude"),
        Index("ix_merchants_search", "search", postgresql_using="gin"),
        Index("ix_merchants_name_id", "name", "id"),
    )

    id: Mapped[int] = identity_pk()
    # The seed's "merchant_id": the natural key partners and processors use.
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("merchant_categories.id", ondelete="RESTRICT"), index=True
    )
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100), index=True)
    state: Mapped[str | None] = mapped_column(String(50))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(100), server_default="United States")
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    website: Mapped[str | None] = mapped_column(String(300))
    operating_hours: Mapped[Json | None]
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    total_reviews: Mapped[int] = mapped_column(Integer, server_default="0")
    is_active: Mapped[bool] = mapped_column(server_default="true", index=True)
    is_featured: Mapped[bool] = mapped_column(server_default="false", index=True)
    # "metadata" is reserved on declarative classes, so the attribute has another name.
    extra: Mapped[Json | None] = mapped_column("metadata")
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(city, ''))", persisted=True),
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PreferredMerchant(Base):
    """Partnership terms and campaign performance attributed to one merchant."""

    __tablename__ = "preferred_merchants"
    __table_args__ = (
        check_in("partnership_type", PartnershipType),
        check_between("commission_rate", 0, 100),
        *check_non_negative(
            "user_visits_total", "campaign_impressions", "campaign_conversions", "revenue_from_campaigns"
        ),
    )

    id: Mapped[int] = identity_pk()
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), unique=True)
    is_partner: Mapped[bool] = mapped_column(server_default="true")
    partnership_type: Mapped[str | None] = mapped_column(String(16))
    commission_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    user_visits_total: Mapped[int] = mapped_column(server_default="0")
    campaign_impressions: Mapped[int] = mapped_column(server_default="0")
    campaign_conversions: Mapped[int] = mapped_column(server_default="0")
    revenue_from_campaigns: Mapped[BigMoney] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
