"""Users, their linked payment accounts, card transactions and the rewards ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, check_in, created_at, identity_pk, updated_at


class UserRole(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    MERCHANT = "merchant"
    CUSTOMER = "customer"


class LoyaltyTier(StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


class AccountKind(StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"
    CREDIT_CARD = "credit_card"
    DEBIT_CARD = "debit_card"
    WALLET = "wallet"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    UNLINKED = "unlinked"


class TransactionCategory(StrEnum):
    DINING = "dining"
    GROCERIES = "groceries"
    SHOPPING = "shopping"
    FUEL = "fuel"
    TRAVEL = "travel"
    ENTERTAINMENT = "entertainment"
    HEALTH = "health"
    SERVICES = "services"
    OTHER = "other"


class TransactionStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    DECLINED = "declined"
    REFUNDED = "refunded"


class RewardKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    ADJUST = "adjust"
    EXPIRE = "expire"


class User(Base):
    """A person: mobile-app customer or staff. Never hard-deleted: GDPR erasure nulls the PII."""

    __tablename__ = "users"
    __table_args__ = (
        check_in("role", UserRole),
        check_in("loyalty_tier", LoyaltyTier),
        CheckConstraint("deleted_at IS NOT NULL OR email IS NOT NULL", name="email_unless_erased"),
        CheckConstraint("role <> 'merchant' OR merchant_id IS NOT NULL", name="merchant_staff_has_merchant"),
        CheckConstraint("reward_points >= 0", name="reward_points_non_negative"),
        CheckConstraint("phone IS NULL OR phone ~ '^\\+[1-9][0-9]{6,14}$'", name="phone_e164"),
        # Case-insensitive uniqueness: "Ann@x.io" and "ann@x.io" are one account.
        Index("uq_users_lower_email", func.lower(text("email")), unique=True),
        Index("ix_users_search", "search", postgresql_using="gin"),
        Index("ix_users_created_at_id", "created_at", "id"),
        # Email prefix search (lower(email) LIKE 'ann%') needs pattern ops outside the C collation.
        Index(
            "ix_users_lower_email_pattern",
            func.lower(text("email")).label("lower_email"),
            postgresql_ops={"lower_email": "text_pattern_ops"},
        ),
        # Sort by name; erased users (null name) sort as '' so the keyset order stays total.
        Index("ix_users_name_id", func.coalesce(text("name"), text("''")), "id"),
    )

    id: Mapped[int] = identity_pk()
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), server_default=UserRole.CUSTOMER.value)
    loyalty_tier: Mapped[str] = mapped_column(String(16), server_default=LoyaltyTier.BRONZE.value, index=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    # Staff of one merchant (role "merchant"); a merchant with staff is deactivated, not deleted.
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="RESTRICT"), index=True
    )
    # Kept by the rewards_ledger trigger; the CHECK makes an overdraft impossible whatever the caller does.
    reward_points: Mapped[int] = mapped_column(server_default="0")
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(email, ''))", persisted=True),
    )
    last_login_at: Mapped[datetime | None]
    # IANA name ("Europe/Paris"); null: DEFAULT_TIME_ZONE. Notifications are timed in it.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]


class Account(Base):
    """A payment account (card, bank, wallet) linked by a user."""

    __tablename__ = "accounts"
    __table_args__ = (
        check_in("kind", AccountKind),
        check_in("status", AccountStatus),
        CheckConstraint("last_four ~ '^[0-9]{4}$'", name="last_four_digits"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    institution: Mapped[str] = mapped_column(String(120))
    last_four: Mapped[str] = mapped_column(String(4))
    balance: Mapped[Money] = mapped_column(server_default="0")
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    status: Mapped[str] = mapped_column(String(16), server_default=AccountStatus.ACTIVE.value)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Transaction(Base):
    """A card transaction reported by the processor; financial history, so parents are RESTRICT."""

    __tablename__ = "transactions"
    __table_args__ = (
        check_in("category", TransactionCategory),
        check_in("status", TransactionStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        # Keyset pagination of a user's history, newest first.
        Index("ix_transactions_user_id_occurred_at_id", "user_id", "occurred_at", "id"),
        Index("ix_transactions_merchant_id_occurred_at", "merchant_id", "occurred_at"),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # The processor's reference: recording the same transaction twice is a no-op.
    external_ref: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=TransactionStatus.POSTED.value)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_at()


class RewardEntry(Base):
    """One earn/redeem/adjust/expire entry of a user's points ledger (append-only)."""

    __tablename__ = "rewards_ledger"
    __table_args__ = (
        check_in("kind", RewardKind),
        CheckConstraint("points <> 0", name="points_non_zero"),
        CheckConstraint(
            "(kind = 'earn' AND points > 0) OR (kind IN ('redeem', 'expire') AND points < 0)"
            " OR kind = 'adjust'",
            name="points_sign_matches_kind",
        ),
        Index("ix_rewards_ledger_user_id_created_at_id", "user_id", "created_at", "id"),
        # A transaction earns points once.
        Index(
            "uq_rewards_ledger_transaction_id_earn",
            "transaction_id",
            unique=True,
            postgresql_where=text("kind = 'earn'"),
        ),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="RESTRICT"))
    # RESTRICT, not SET NULL: the ledger is append-only history (SET NULL would be an UPDATE that the
    # trigger refuses); campaigns are archived, not deleted.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at()
