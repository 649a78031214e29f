"""Machine-learning outputs about a user: recommended merchants and the best time to reach them."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.policies import INSIGHT_READERS
from models import ml
from schema.caching.hints import CacheScope, cache_hint
from schema.merchants.types import Merchant
from schema.permissions import allow, type_policy

# Staff use them for targeting; the customer sees their own in the app.


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(INSIGHT_READERS)
@strawberry.type(description="A merchant recommended to a user, with the affinity behind it.")
class MerchantRecommendation:
    merchant: Merchant | None = strawberry.field(
        description="The merchant (active only).", permission_classes=[allow(INSIGHT_READERS)]
    )
    affinity_score: float = strawberry.field(description="Predicted affinity, 0 to 1.")


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(INSIGHT_READERS)
@strawberry.type(description="When a user is most likely to open a message (model output).")
class OptimalSendTime:
    hour: int = strawberry.field(description="Best hour of the day, 0-23 (UTC).")
    day_of_week: int = strawberry.field(description="Best day, 0 = Sunday to 6 = Saturday.")
    confidence: float | None = strawberry.field(description="Model confidence, 0 to 1.")
    open_rate_morning: float | None = strawberry.field(description="Open rate of morning sends, 0 to 1.")
    open_rate_afternoon: float | None = strawberry.field(description="Open rate of afternoon sends, 0 to 1.")
    open_rate_evening: float | None = strawberry.field(description="Open rate of evening sends, 0 to 1.")
    engagement_score: float | None = strawberry.field(description="Overall engagement, 0 to 1.")
    calculated_at: dt.datetime = strawberry.field(description="When the model last computed it (UTC).")

    @classmethod
    def from_row(cls, row: ml.UserOptimalSendTime) -> OptimalSendTime:
        return cls(
            hour=row.optimal_hour,
            day_of_week=row.optimal_day_of_week,
            confidence=row.confidence_score,
            open_rate_morning=row.open_rate_morning,
            open_rate_afternoon=row.open_rate_afternoon,
            open_rate_evening=row.open_rate_evening,
            engagement_score=row.engagement_score,
            calculated_at=row.last_calculated_at,
        )
