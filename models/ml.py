"""Machine-learning outputs: model versions, user-merchant affinity, send times, campaign advice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Double, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    Money,
    check_between,
    check_in,
    check_non_negative,
    created_at,
    identity_pk,
    updated_at,
)


class ModelType(StrEnum):
    CONVERSION = "conversion"
    CHURN = "churn"
    AFFINITY = "affinity"
    OFFER = "offer"


class ModelStatus(StrEnum):
    TRAINING = "training"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"


class RecommendationType(StrEnum):
    OFFER = "offer"
    TIMING = "timing"
    AUDIENCE = "audience"
    CREATIVE = "creative"
    CHANNEL = "channel"


class Effort(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


SCORES = ("accuracy", "precision", "recall", "f1_score", "auc_score")


class MLModel(Base):
    __tablename__ = "ml_models"
    __table_args__ = (
        check_in("model_type", ModelType),
        check_in("status", ModelStatus),
        *(check_between(score, 0, 1) for score in SCORES),
        *check_non_negative("feature_count", "training_samples"),
        UniqueConstraint("name", "version"),
        # One active version per model type.
        Index(
            "uq_ml_models_active_per_type",
            "model_type",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = identity_pk()
    name: Mapped[str] = mapped_column(String(255))
    model_type: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[str] = mapped_column(String(50))
    training_date: Mapped[datetime]
    accuracy: Mapped[float | None] = mapped_column(Double)
    precision: Mapped[float | None] = mapped_column(Double)
    recall: Mapped[float | None] = mapped_column(Double)
    f1_score: Mapped[float | None] = mapped_column(Double)
    auc_score: Mapped[float | None] = mapped_column(Double)
    feature_count: Mapped[int | None] = mapped_column(Integer)
    training_samples: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), server_default=ModelStatus.TRAINING.value, index=True)
    model_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class UserMerchantAffinity(Base):
    __tablename__ = "user_merchant_affinity"
    __table_args__ = (
        UniqueConstraint("user_id", "merchant_id"),
        check_between("affinity_score", 0, 1),
        *check_non_negative("interaction_count", "purchase_count", "avg_transaction_value"),
        Index("ix_user_merchant_affinity_merchant_id", "merchant_id"),
        # Recommendations: a user's merchants by descending affinity.
        Index("ix_user_merchant_affinity_user_id_score", "user_id", text("affinity_score DESC")),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    affinity_score: Mapped[float] = mapped_column(Double)
    interaction_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_interaction_at: Mapped[datetime | None]
    purchase_count: Mapped[int] = mapped_column(Integer, server_default="0")
    avg_transaction_value: Mapped[Money | None]
    updated_at: Mapped[datetime] = updated_at()


class UserOptimalSendTime(Base):
    __tablename__ = "user_optimal_send_times"
    __table_args__ = (
        check_between("optimal_hour", 0, 23),
        # 0 = Sunday, as in the seed.
        check_between("optimal_day_of_week", 0, 6),
        *(
            check_between(c, 0, 1)
            for c in (
                "confidence_score",
                "open_rate_morning",
                "open_rate_afternoon",
                "open_rate_evening",
                "engagement_score",
            )
        ),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    optimal_hour: Mapped[int] = mapped_column(SmallInteger)
    optimal_day_of_week: Mapped[int] = mapped_column(SmallInteger)
    confidence_score: Mapped[float | None] = mapped_column(Double)
    open_rate_morning: Mapped[float | None] = mapped_column(Double)
    open_rate_afternoon: Mapped[float | None] = mapped_column(Double)
    open_rate_evening: Mapped[float | None] = mapped_column(Double)
    engagement_score: Mapped[float | None] = mapped_column(Double)
    last_calculated_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CampaignOptimization(Base):
    __tablename__ = "campaign_optimizations"
    __table_args__ = (
        check_in("recommendation_type", RecommendationType),
        check_in("implementation_effort", Effort),
        check_between("confidence_score", 0, 1),
        check_between("priority", 1, 10),
    )

    id: Mapped[int] = identity_pk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    recommendation_type: Mapped[str] = mapped_column(String(16))
    recommendation_text: Mapped[str] = mapped_column(Text)
    confidence_score: Mapped[float] = mapped_column(Double, server_default="0")
    potential_uplift_percent: Mapped[float | None] = mapped_column(Double)
    implementation_effort: Mapped[str | None] = mapped_column(String(16))
    # 1 is the most urgent.
    priority: Mapped[int] = mapped_column(SmallInteger, server_default="5")
    implemented: Mapped[bool] = mapped_column(server_default="false")
    implemented_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
