"""Administration: the general audit log, runtime settings and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Json, check_in, created_at, identity_pk, updated_at


class IdempotencyStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class AuditLogEntry(Base):
    """Who changed what, written by the application inside the change's own transaction.

    Rows outlive what they describe: entity_id is a plain column, the actor FK is SET NULL.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity_type_entity_id", "entity_type", "entity_id"),
        Index("ix_audit_log_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = identity_pk()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # "user:42", "api_key:7", "system": readable after the actor is gone.
    actor_label: Mapped[str] = mapped_column(String(255))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None]
    before: Mapped[Json | None]
    after: Mapped[Json | None]
    ip_address: Mapped[str | None] = mapped_column(INET)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()


class Setting(Base):
    """A runtime setting changed from the admin dashboard (not a secret: secrets live in the environment)."""

    __tablename__ = "settings"
    __table_args__ = (CheckConstraint("key ~ '^[a-z0-9][a-z0-9_.-]*$'", name="key_slug"),)

    id: Mapped[int] = identity_pk()
    key: Mapped[str] = mapped_column(String(100), unique=True)
    value: Mapped[Json] = mapped_column()
    description: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class IdempotencyKey(Base):
    """A mutation request executed once per (viewer, key); committed with the mutation's writes."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        check_in("status", IdempotencyStatus),
        CheckConstraint("status = 'in_progress' OR completed_at IS NOT NULL", name="completed_has_time"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )

    id: Mapped[int] = identity_pk()
    # Whose key it is: "user:42", "api_key:7", "anon:<ip>"; the same key from two viewers is two keys.
    scope: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the operation and its variables: the same key with other input is a CONFLICT.
    fingerprint: Mapped[str] = mapped_column(String(64))
    operation_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), server_default=IdempotencyStatus.IN_PROGRESS.value)
    response: Mapped[Json | None]
    # What the write produced ({"type": "Campaign", "id": 7}): if attaching `response` was lost, a
    # replay rebuilds the answer by reading this, never by writing again.
    result_ref: Mapped[Json | None]
    created_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)
