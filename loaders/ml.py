"""ML loaders: model versions, campaign optimisation advice, and what the models say of a user
(recommended merchants by affinity, the best time to send), and the active version of each model
type. Users' rows follow their visibility."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, func, select

from loaders.base import Loader, Reader, grouped_by_rest, many_per_key, one_per_key
from loaders.merchants import MERCHANT_COLUMNS
from loaders.visibility import campaigns_visible_to, sees_rows_of, user_rows_visible_to
from models.campaigns import Campaign
from models.merchants import Merchant
from models.ml import CampaignOptimization, MLModel, ModelStatus, UserMerchantAffinity, UserOptimalSendTime

# What the GraphQL types read of a row (campaign_id groups advice by campaign).
OPTIMIZATION_COLUMNS = (
    CampaignOptimization.id, CampaignOptimization.campaign_id, CampaignOptimization.recommendation_type,
    CampaignOptimization.recommendation_text, CampaignOptimization.confidence_score,
    CampaignOptimization.potential_uplift_percent, CampaignOptimization.implementation_effort,
    CampaignOptimization.priority, CampaignOptimization.implemented, CampaignOptimization.implemented_at,
    CampaignOptimization.created_at,
)  # fmt: skip
SEND_TIME_COLUMNS = (
    UserOptimalSendTime.user_id, UserOptimalSendTime.optimal_hour, UserOptimalSendTime.optimal_day_of_week,
    UserOptimalSendTime.confidence_score, UserOptimalSendTime.open_rate_morning,
    UserOptimalSendTime.open_rate_afternoon, UserOptimalSendTime.open_rate_evening,
    UserOptimalSendTime.engagement_score, UserOptimalSendTime.last_calculated_at,
)  # fmt: skip
ML_MODEL_COLUMNS = (
    MLModel.id, MLModel.name, MLModel.model_type, MLModel.version, MLModel.status, MLModel.training_date,
    MLModel.accuracy, MLModel.precision, MLModel.recall, MLModel.f1_score, MLModel.auc_score,
    MLModel.training_samples,
)  # fmt: skip


class CampaignOptimizationByIdLoader(Loader[int, Row | None]):
    # Advice is as private as its campaign: the campaign's visibility applies (merchants see their own).
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = (
            select(*OPTIMIZATION_COLUMNS)
            .join(Campaign, Campaign.id == CampaignOptimization.campaign_id)
            .where(CampaignOptimization.id.in_(keys), campaigns_visible_to(self.viewer))
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class MlModelByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        rows = await session.execute(select(*ML_MODEL_COLUMNS).where(MLModel.id.in_(keys)))
        return one_per_key(keys, rows, lambda r: r.id)


@dataclass(frozen=True, slots=True)
class Recommendation:
    merchant: Row  # MERCHANT_COLUMNS (and the ranking's own columns)
    affinity_score: float


class RecommendedMerchantsByUserLoader(Loader[tuple[int, int], list[Recommendation]]):
    """A user's `first` active merchants by descending affinity; keys are (user id, first)."""

    async def load_batch(self, session: Reader, keys: list[tuple[int, int]]) -> list[list[Recommendation]]:
        # The Redis cache (resolvers/ml/recommendation_cache.py) when the lifespan made one, for reads of
        # the operation's snapshot only (a write's session may read what it has not committed). Keys
        # of users the viewer may not see are never served from it: they still meet the SQL below.
        cache = self.context.services.recommendations
        if cache is None or self.context.session is not None:
            return await self.ranked(session, keys)
        return await cache.load(  # type: ignore[no-any-return]
            keys,
            cacheable=lambda key: sees_rows_of(self.viewer, key[0]),
            compute=lambda missed: self.ranked(session, missed),
        )

    # ix_user_merchant_affinity_user_id_score serves the partitions; inactive merchants are dropped
    # before ranking so they never take a place in the top `first`.
    async def ranked(self, session: Reader, keys: list[tuple[int, int]]) -> list[list[Recommendation]]:
        a = UserMerchantAffinity
        found: dict[tuple[int, int], list[Recommendation]] = {}
        for (first,), user_ids in grouped_by_rest(keys).items():
            rank = func.row_number().over(
                partition_by=a.user_id, order_by=(a.affinity_score.desc(), a.merchant_id)
            )
            ranked = (
                select(
                    *MERCHANT_COLUMNS, a.user_id.label("for_user_id"), a.affinity_score, rank.label("rank")
                )
                .join(a, a.merchant_id == Merchant.id)
                .where(
                    a.user_id.in_(user_ids), Merchant.is_active, user_rows_visible_to(self.viewer, a.user_id)
                )
                .subquery("ranked")
            )
            merchant = [ranked.c[column.key] for column in MERCHANT_COLUMNS]
            query = (
                select(*merchant, ranked.c.for_user_id, ranked.c.affinity_score)
                .where(ranked.c.rank <= first)
                .order_by(ranked.c.for_user_id, ranked.c.rank)
            )
            groups = many_per_key(user_ids, await session.execute(query), lambda r: r.for_user_id)
            for user_id, rows in zip(user_ids, groups, strict=True):
                found[(user_id, first)] = [Recommendation(row, row.affinity_score) for row in rows]
        return [found[key] for key in keys]


class OptimalSendTimeByUserLoader(Loader[int, Row | None]):
    # uq_user_optimal_send_times_user_id: one row per user.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*SEND_TIME_COLUMNS).where(
            UserOptimalSendTime.user_id.in_(keys),
            user_rows_visible_to(self.viewer, UserOptimalSendTime.user_id),
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.user_id)


class ActiveMlModelByTypeLoader(Loader[str, Row | None]):
    """The ACTIVE version of each model type (keys: ModelType values); uq_ml_models_active_per_type
    makes it one at most, and serves the lookup."""

    async def load_batch(self, session: Reader, keys: list[str]) -> list[Row | None]:
        rows = await session.execute(
            select(*ML_MODEL_COLUMNS).where(
                MLModel.model_type.in_(keys), MLModel.status == ModelStatus.ACTIVE.value
            )
        )
        return one_per_key(keys, rows, lambda r: r.model_type)
