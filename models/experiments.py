"""A/B tests: definition, weighted variants, sticky per-user assignments and result snapshots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    BigMoney,
    Json,
    Money,
    check_between,
    check_in,
    check_non_negative,
    created_at,
    identity_pk,
    updated_at,
)


class ExperimentStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class Experiment(Base):
    __tablename__ = "ab_tests"
    __table_args__ = (
        check_in("status", ExperimentStatus),
        CheckConstraint("key ~ '^[a-z0-9][a-z0-9_.-]*$'", name="key_slug"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint("confidence_level > 50 AND confidence_level < 100", name="confidence_level_range"),
        CheckConstraint("min_statistical_power > 0 AND min_statistical_power < 100", name="power_range"),
        CheckConstraint("baseline_rate > 0 AND baseline_rate < 1", name="baseline_rate_range"),
        CheckConstraint("minimum_detectable_effect > 0", name="mde_positive"),
        CheckConstraint("sample_size > 0", name="sample_size_positive"),
        Index("ix_ab_tests_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = identity_pk()
    # Bucketing hashes "key:userId", so the key never changes once the test runs.
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    hypothesis: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), server_default=ExperimentStatus.DRAFT.value, index=True)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    # Percentages as in the seed (95.0, 80.0).
    confidence_level: Mapped[float] = mapped_column(Double, server_default="95.0")
    min_statistical_power: Mapped[float] = mapped_column(Double, server_default="80.0")
    # Control's expected conversion rate (0..1) and the relative uplift worth detecting (0.10 = +10%).
    baseline_rate: Mapped[float | None] = mapped_column(Double)
    minimum_detectable_effect: Mapped[float | None] = mapped_column(Double)
    # Required users per variant, computed from the two above.
    sample_size: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ExperimentVariant(Base):
    """One arm of a test; weights are integers out of 1000 and one arm is the control."""

    __tablename__ = "ab_test_variants"
    __table_args__ = (
        check_between("weight", 0, 1000),
        CheckConstraint("key ~ '^[a-z0-9][a-z0-9_.-]*$'", name="key_slug"),
        UniqueConstraint("test_id", "key"),
        # Target of the assignments' composite FK, which proves a variant belongs to the assignment's test.
        UniqueConstraint("test_id", "id"),
        Index("uq_ab_test_variants_one_control", "test_id", unique=True, postgresql_where=text("is_control")),
    )

    id: Mapped[int] = identity_pk()
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_control: Mapped[bool] = mapped_column(server_default="false")
    weight: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[Json | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ExperimentAssignment(Base):
    """The variant a user got (stored once) and what that user did since: per-user values for Welch."""

    __tablename__ = "ab_test_assignments"
    __table_args__ = (
        UniqueConstraint("test_id", "user_id"),
        ForeignKeyConstraint(
            ["test_id", "variant_id"],
            ["ab_test_variants.test_id", "ab_test_variants.id"],
            name="fk_ab_test_assignments_variant_of_test",
            ondelete="CASCADE",
        ),
        *check_non_negative("conversions", "revenue"),
        Index("ix_ab_test_assignments_variant_id", "variant_id"),
        Index("ix_ab_test_assignments_user_id", "user_id"),
    )

    id: Mapped[int] = identity_pk()
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    variant_id: Mapped[int]
    assigned_at: Mapped[datetime] = created_at()
    conversions: Mapped[int] = mapped_column(Integer, server_default="0")
    revenue: Mapped[Money] = mapped_column(server_default="0")
    last_converted_at: Mapped[datetime | None]


class ExperimentResult(Base):
    """Snapshot of one variant's statistics, replaced when results are recomputed or the test completes."""

    __tablename__ = "ab_test_results"
    __table_args__ = (
        UniqueConstraint("test_id", "variant_id"),
        ForeignKeyConstraint(
            ["test_id", "variant_id"],
            ["ab_test_variants.test_id", "ab_test_variants.id"],
            name="fk_ab_test_results_variant_of_test",
            ondelete="CASCADE",
        ),
        *check_non_negative("users_count", "converted_users", "conversions", "revenue"),
        CheckConstraint("converted_users <= users_count", name="converted_within_users"),
        CheckConstraint("p_value BETWEEN 0 AND 1", name="p_value_range"),
        CheckConstraint("p_value_adjusted BETWEEN 0 AND 1", name="p_value_adjusted_range"),
        CheckConstraint("srm_p_value BETWEEN 0 AND 1", name="srm_p_value_range"),
    )

    id: Mapped[int] = identity_pk()
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"))
    variant_id: Mapped[int]
    computed_at: Mapped[datetime]
    users_count: Mapped[int] = mapped_column(Integer)
    converted_users: Mapped[int] = mapped_column(Integer)
    conversions: Mapped[int] = mapped_column(Integer)
    conversion_rate: Mapped[float] = mapped_column(Double)
    revenue: Mapped[BigMoney]
    revenue_per_user: Mapped[float] = mapped_column(Double)
    uplift: Mapped[float | None] = mapped_column(Double)
    ci_lower: Mapped[float | None] = mapped_column(Double)
    ci_upper: Mapped[float | None] = mapped_column(Double)
    p_value: Mapped[float | None] = mapped_column(Double)
    p_value_adjusted: Mapped[float | None] = mapped_column(Double)
    revenue_p_value: Mapped[float | None] = mapped_column(Double)
    srm_p_value: Mapped[float | None] = mapped_column(Double)
    sample_size_required: Mapped[int | None] = mapped_column(Integer)
    is_significant: Mapped[bool] = mapped_column(server_default="false")
    winner: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
