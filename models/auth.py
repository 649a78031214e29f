"""Authentication: API keys, refresh-token families and their tokens, password-reset links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, check_in, created_at, identity_pk


class ApiKeyRole(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    MERCHANT = "merchant"
    SERVICE = "service"


class ApiKey(Base):
    """A service credential: shown once at creation, stored only as a SHA-256 of its random secret."""

    __tablename__ = "api_keys"
    __table_args__ = (
        check_in("role", ApiKeyRole),
        CheckConstraint("role <> 'merchant' OR merchant_id IS NOT NULL", name="merchant_key_has_merchant"),
    )

    id: Mapped[int] = identity_pk()
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in listings so a key can be recognised, never used alone.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class RefreshTokenFamily(Base):
    """All refresh tokens descending from one login; reuse of a rotated token revokes the family."""

    __tablename__ = "refresh_token_families"

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = identity_pk()
    family_id: Mapped[int] = mapped_column(
        ForeignKey("refresh_token_families.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Set when this token was exchanged; presenting it again after the grace window means theft.
    rotated_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("refresh_tokens.id", ondelete="SET NULL"))


class PasswordResetToken(Base):
    """A single-use, expiring password-reset link; only the SHA-256 of its secret is stored."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime]
    # Set when the link was used, or when a newer link or a completed reset made it void.
    used_at: Mapped[datetime | None]
