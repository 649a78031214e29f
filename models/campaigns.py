"""Marketing campaigns and their status lifecycle."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, check_in, created_at, identity_pk, updated_at


class CampaignType(StrEnum):
    LOCATION_DEAL = "location_deal"
    EMAIL_OFFER = "email_offer"
    PUSH_NOTIFICATION = "push_notification"
    CASHBACK = "cashback"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        check_in("type", CampaignType),
        check_in("status", CampaignStatus),
        CheckConstraint("budget >= 0", name="budget_non_negative"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        # Only a draft may lack its schedule.
        CheckConstraint(
            "status = 'draft' OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)",
            name="scheduled_unless_draft",
        ),
        CheckConstraint("cashback_percent BETWEEN 0 AND 100", name="cashback_percent_range"),
        CheckConstraint("type = 'cashback' OR cashback_percent IS NULL", name="cashback_only_for_cashback"),
        Index("ix_campaigns_search", "search", postgresql_using="gin"),
        # Keyset pagination keys (sort column, id).
        Index("ix_campaigns_created_at_id", "created_at", "id"),
        Index("ix_campaigns_starts_at_id", "starts_at", "id"),
        Index("ix_campaigns_name_id", "name", "id"),
        Index("ix_campaigns_ends_at", "ends_at"),
    )

    id: Mapped[int] = identity_pk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default=CampaignStatus.DRAFT.value, index=True)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    budget: Mapped[Money] = mapped_column(server_default="0")
    # Extra cashback (percent of the amount, as points) earned at the campaign's merchant while it runs.
    cashback_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="SET NULL"), index=True
    )
    target_segment: Mapped[str | None] = mapped_column(String(100))
    # Push and e-mail campaigns: everyone at once on start, instead of each person's best time.
    send_at_once: Mapped[bool] = mapped_column(server_default="false")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True
        ),
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
