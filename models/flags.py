"""Feature flags: configuration, rollout variants, the version of both, raw usage, daily analytics and
the audit trail."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    Json,
    check_between,
    check_in,
    check_non_negative,
    created_at,
    identity_pk,
    updated_at,
)


class FlagCategory(StrEnum):
    UI = "ui"
    ADVANCED = "advanced"
    EXPERIMENTAL = "experimental"
    ROLLOUT = "rollout"


class FlagType(StrEnum):
    """Unleash's flag types; each has an expected lifetime used for stale detection."""

    RELEASE = "release"
    EXPERIMENT = "experiment"
    OPERATIONAL = "operational"
    KILL_SWITCH = "kill_switch"
    PERMISSION = "permission"


class AppType(StrEnum):
    MOBILE = "mobile"
    ADMIN = "admin"
    WEB = "web"


class FlagAuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    TOGGLE = "toggle"
    DELETE = "delete"
    ROLLOUT = "rollout"
    VARIANT_ADD = "variant_add"
    VARIANT_UPDATE = "variant_update"
    VARIANT_REMOVE = "variant_remove"


class FeatureFlag(Base):
    __tablename__ = "feature_flags"
    __table_args__ = (
        check_in("category", FlagCategory),
        check_in("type", FlagType),
        check_between("rollout_percentage", 0, 100),
        CheckConstraint("key ~ '^[a-z0-9][a-z0-9_.-]*$'", name="key_slug"),
    )

    id: Mapped[int] = identity_pk()
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16), index=True)
    type: Mapped[str] = mapped_column(String(16), server_default=FlagType.RELEASE.value)
    enabled: Mapped[bool] = mapped_column(server_default="false", index=True)
    rollout_percentage: Mapped[int] = mapped_column(SmallInteger, server_default="100")
    owner_email: Mapped[str | None] = mapped_column(String(320))
    created_by: Mapped[str | None] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class FlagRollout(Base):
    """A variant of a flag, optionally limited to a user segment; weights are tenths of a percent."""

    __tablename__ = "feature_flag_rollouts"
    __table_args__ = (
        check_between("weight", 0, 1000),
        # NULLS NOT DISTINCT (PostgreSQL 15+): one "all segments" row per variant, too.
        Index(
            "uq_feature_flag_rollouts_flag_id_variant_key_user_segment",
            "flag_id",
            "variant_key",
            "user_segment",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = identity_pk()
    flag_id: Mapped[int] = mapped_column(ForeignKey("feature_flags.id", ondelete="CASCADE"))
    user_segment: Mapped[str | None] = mapped_column(String(100))
    variant_key: Mapped[str] = mapped_column(String(100))
    variant_value: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class FlagConfigVersion(Base):
    """One row: the version of everything flag evaluation reads (flags and their rollouts).

    Triggers of migration 0008 bump it in the transaction of every statement writing feature_flags or
    feature_flag_rollouts, whoever runs it (the API, a script, an administrator in psql), so a reader
    seeing the version in a snapshot sees exactly the flags of that version in the same snapshot.
    """

    __tablename__ = "feature_flag_config_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="1")
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changed_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class FlagUsage(Base):
    """One flag check reported by a client; kept 30 days, then only the daily rollup remains."""

    __tablename__ = "feature_flag_usage"
    __table_args__ = (
        check_in("app_type", AppType),
        CheckConstraint("response_time_ms >= 0", name="response_time_ms_non_negative"),
        Index("ix_feature_flag_usage_flag_id_accessed_at", "flag_id", "accessed_at"),
    )

    id: Mapped[int] = identity_pk()
    flag_id: Mapped[int] = mapped_column(ForeignKey("feature_flags.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[str | None] = mapped_column(String(128))
    app_type: Mapped[str] = mapped_column(String(16), index=True)
    accessed_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), index=True)
    value_used: Mapped[bool | None] = mapped_column(Boolean)
    variant_key: Mapped[str | None] = mapped_column(String(100))
    response_time_ms: Mapped[float | None] = mapped_column(Double)
    cache_hit: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[bool] = mapped_column(server_default="false")
    device_info: Mapped[Json | None]
    request_id: Mapped[str | None] = mapped_column(String(64))


class FlagDailyAnalytics(Base):
    """One flag's usage on one UTC day, rebuilt from feature_flag_usage by the rollup.

    Sums, not averages, are stored so weeks and months can be aggregated correctly. `evaluations` and
    `evaluations_enabled` are the API's own evaluateFlags answers, counted in memory by each worker and
    added in batches (resolvers/flags/usage_counts.py); the rollup never touches them, as the client
    checks it rebuilds never touch them.
    """

    __tablename__ = "feature_flag_analytics"
    __table_args__ = (
        *check_non_negative(
            "total_users", "total_checks", "enabled_count", "disabled_count", "error_count", "cache_hits"
        ),
        CheckConstraint("enabled_count + disabled_count <= total_checks", name="outcomes_within_checks"),
        CheckConstraint("cache_hits <= total_checks", name="cache_hits_within_checks"),
        CheckConstraint("response_time_ms_total >= 0", name="response_time_ms_total_non_negative"),
        *check_non_negative("evaluations", "evaluations_enabled"),
        CheckConstraint("evaluations_enabled <= evaluations", name="evaluations_enabled_within"),
        UniqueConstraint("flag_id", "date"),
    )

    id: Mapped[int] = identity_pk()
    flag_id: Mapped[int] = mapped_column(ForeignKey("feature_flags.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(index=True)
    total_users: Mapped[int] = mapped_column(Integer, server_default="0")
    total_checks: Mapped[int] = mapped_column(server_default="0")
    enabled_count: Mapped[int] = mapped_column(server_default="0")
    disabled_count: Mapped[int] = mapped_column(server_default="0")
    error_count: Mapped[int] = mapped_column(server_default="0")
    cache_hits: Mapped[int] = mapped_column(server_default="0")
    response_time_ms_total: Mapped[float] = mapped_column(Double, server_default="0")
    evaluations: Mapped[int] = mapped_column(server_default="0")
    evaluations_enabled: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class FlagAuditEntry(Base):
    """A change to a flag, written by the application in the mutation's transaction.

    It outlives the flag: the key is kept and the FK is SET NULL on delete.
    """

    __tablename__ = "feature_flag_audit_log"
    __table_args__ = (
        check_in("action", FlagAuditAction),
        Index("ix_feature_flag_audit_log_flag_id_created_at", "flag_id", "created_at"),
        Index("ix_feature_flag_audit_log_flag_key_created_at", "flag_key", "created_at"),
    )

    id: Mapped[int] = identity_pk()
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("feature_flags.id", ondelete="SET NULL"))
    flag_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[Json | None]
    new_value: Mapped[Json | None]
    changed_by: Mapped[str] = mapped_column(String(255))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    change_reason: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(INET)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), index=True)
