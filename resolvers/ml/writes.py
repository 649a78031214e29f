"""ML writes: model versions (one active per type), bulk scores from the pipeline, campaign advice.

Model uploads and activations are configuration and are audited; affinity scores and send times are
data the pipeline recomputes, so they are not (the next run overwrites them anyway).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign
from models.merchants import Merchant
from models.ml import (
    CampaignOptimization,
    Effort,
    MLModel,
    ModelStatus,
    ModelType,
    RecommendationType,
    UserMerchantAffinity,
    UserOptimalSendTime,
)
from models.users import User
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

MAX_BATCH = 1000
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12,2)
MAX_INT32 = 2_147_483_647
ENTITY = "ml_model"


@dataclass(frozen=True, slots=True)
class ModelFields:
    name: str
    model_type: ModelType
    version: str
    training_date: dt.datetime
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1_score: float | None = None
    auc_score: float | None = None
    feature_count: int | None = None
    training_samples: int | None = None
    model_path: str | None = None


async def _audit(session: AsyncSession, actor: Actor, row: MLModel, action: str, before: Any) -> None:
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action=f"{ENTITY}.{action}",
        entity_type=ENTITY,
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )


async def _locked(session: AsyncSession, query: Any) -> MLModel | None:
    # populate_existing: the row as it is now that it is locked, not as this session first read it.
    return await session.scalar(query.with_for_update().execution_options(populate_existing=True))


async def _activate(session: AsyncSession, actor: Actor, model_id: int, model_type: str) -> Outcome[MLModel]:
    """Make the model the active version of its type, deprecating the one it replaces."""
    # Every activation of a type takes this lock first: the second of two parallel activations waits,
    # then sees the first one's model as the active row and deprecates it, so
    # uq_ml_models_active_per_type is never violated (a row lock cannot cover "no active row yet").
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"ml_models.active:{model_type}"}
    )
    current = await _locked(
        session,
        select(MLModel).where(MLModel.model_type == model_type, MLModel.status == ModelStatus.ACTIVE.value),
    )
    model = await _locked(session, select(MLModel).where(MLModel.id == model_id))
    assert model is not None  # models are never deleted
    if model.status == ModelStatus.ARCHIVED.value:
        return Outcome.one_problem(
            "id", "An archived model cannot be activated.", ProblemCode.INVALID_TRANSITION
        )
    if current is not None and current.id != model.id:
        before = snapshot(current)
        current.status = ModelStatus.DEPRECATED.value
        await session.flush()
        await _audit(session, actor, current, "deprecate", before)
    if model.status != ModelStatus.ACTIVE.value:
        before = snapshot(model)
        model.status = ModelStatus.ACTIVE.value
        await session.flush()
        await _audit(session, actor, model, "activate", before)
    return Outcome(value=model, ref=("MlModel", model.id))


async def upload_model_version(
    *, session: AsyncSession, actor: Actor, data: ModelFields, activate: bool, now: dt.datetime
) -> Outcome[MLModel]:
    """Register a trained model version; with `activate`, it replaces the active one of its type."""
    problems = Problems()
    problems.require_length("name", data.name, max_length=255, required=True)
    problems.require_length("version", data.version, max_length=50, required=True)
    problems.require_length("model_path", data.model_path, max_length=500)
    for score in ("accuracy", "precision", "recall", "f1_score", "auc_score"):
        problems.require_range(score, getattr(data, score), low=0, high=1)
    problems.require_range("feature_count", data.feature_count, low=0, high=MAX_INT32)
    problems.require_range("training_samples", data.training_samples, low=0)
    if data.training_date > now:
        problems.add("training_date", "Training cannot finish in the future.", ProblemCode.OUT_OF_RANGE)
    if problems:
        return Outcome.refused(problems)
    values = {**asdict(data), "model_type": data.model_type.value, "status": ModelStatus.TRAINING.value}
    # ON CONFLICT DO NOTHING: a parallel upload of the same (name, version) waits, then finds it taken.
    model_id = await session.scalar(
        insert(MLModel)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[MLModel.name, MLModel.version])
        .returning(MLModel.id)
    )
    if model_id is None:
        return Outcome.one_problem("version", "This name and version exist already.", ProblemCode.TAKEN)
    model = await session.get(MLModel, model_id)
    assert model is not None
    await _audit(session, actor, model, "upload", None)
    if activate:
        return await _activate(session, actor, model.id, model.model_type)
    return Outcome(value=model, ref=("MlModel", model.id))


async def activate_model_version(*, session: AsyncSession, actor: Actor, model_id: int) -> Outcome[MLModel]:
    """Make an uploaded (or deprecated) version the active one of its type, e.g. to roll back."""
    model_type = await session.scalar(select(MLModel.model_type).where(MLModel.id == model_id))
    if model_type is None:
        return Outcome.one_problem("id", "No such model.", ProblemCode.NOT_FOUND)
    return await _activate(session, actor, model_id, model_type)


# Bulk scores --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AffinityRow:
    # None: the global id given was not a User / Merchant id.
    user_id: int | None
    merchant_id: int | None
    affinity_score: float
    interaction_count: int = 0
    purchase_count: int = 0
    avg_transaction_value: Decimal | None = None
    last_interaction_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SendTimeRow:
    user_id: int | None
    optimal_hour: int
    optimal_day_of_week: int
    confidence_score: float | None = None
    open_rate_morning: float | None = None
    open_rate_afternoon: float | None = None
    open_rate_evening: float | None = None
    engagement_score: float | None = None


AFFINITY_RANGES: dict[str, tuple[Any, Any]] = {
    "affinity_score": (0, 1),
    "interaction_count": (0, None),
    "purchase_count": (0, None),
    "avg_transaction_value": (Decimal(0), MAX_MONEY),
}
SEND_TIME_RANGES: dict[str, tuple[Any, Any]] = {
    "optimal_hour": (0, 23),
    "optimal_day_of_week": (0, 6),
    **{
        name: (0, 1)
        for name in (
            "confidence_score",
            "open_rate_morning",
            "open_rate_afternoon",
            "open_rate_evening",
            "engagement_score",
        )
    },
}


async def _existing(session: AsyncSession, column: Any, ids: set[int], *extra: Any) -> set[int]:
    if not ids:
        return set()
    return set(await session.scalars(select(column).where(column.in_(ids), *extra)))


async def _check_rows(
    session: AsyncSession, list_name: str, rows: Sequence[Any], key: tuple[str, ...], ranges: dict[str, Any]
) -> Problems:
    """Every problem of every row, named `<list>.<index>.<field>`; the whole batch or nothing."""
    problems = Problems()
    if len(rows) > MAX_BATCH:
        problems.add(list_name, f"At most {MAX_BATCH} rows per call.", ProblemCode.OUT_OF_RANGE)
        return problems
    users = await _existing(
        session, User.id, {r.user_id for r in rows if r.user_id is not None}, User.deleted_at.is_(None)
    )
    merchants: set[int] = set()
    if "merchant_id" in key:
        merchants = await _existing(
            session, Merchant.id, {r.merchant_id for r in rows if r.merchant_id is not None}
        )
    seen: dict[tuple[Any, ...], int] = {}
    for i, row in enumerate(rows):
        at = f"{list_name}.{i}."
        if row.user_id not in users:
            problems.add(at + "user_id", "No such user.", ProblemCode.NOT_FOUND)
        if "merchant_id" in key and row.merchant_id not in merchants:
            problems.add(at + "merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)
        for name, (low, high) in ranges.items():
            problems.require_range(at + name, getattr(row, name), low=low, high=high)
        identity = tuple(getattr(row, k) for k in key)
        if identity in seen:
            problems.add(at + key[-1], f"Repeats {list_name}.{seen[identity]}.", ProblemCode.INVALID)
        seen.setdefault(identity, i)
    return problems


async def _upsert(
    session: AsyncSession, model: type[Any], rows: list[dict[str, Any]], key: tuple[str, ...], **extra: Any
) -> int:
    """One INSERT ... ON CONFLICT DO UPDATE; each row replaces what was stored for its key."""
    if not rows:
        return 0
    # Rows in key order: two overlapping batches lock their rows in the same order, never deadlock.
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    statement = insert(model).values([{**r, **extra} for r in rows])
    columns = [c for c in rows[0] if c not in key]
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={**{c: statement.excluded[c] for c in columns}, **extra},
    ).returning(model.id)
    return len((await session.scalars(statement)).all())


async def upsert_affinities(*, session: AsyncSession, rows: Sequence[AffinityRow]) -> Outcome[int]:
    """Store the pipeline's user-merchant affinities; returns how many rows were written."""
    key = ("user_id", "merchant_id")
    problems = await _check_rows(session, "scores", rows, key, AFFINITY_RANGES)
    if problems:
        return Outcome.refused(problems)
    count = await _upsert(session, UserMerchantAffinity, [asdict(r) for r in rows], key)
    return Outcome(value=count, ref=("MerchantAffinities", count))


async def upsert_send_times(*, session: AsyncSession, rows: Sequence[SendTimeRow]) -> Outcome[int]:
    """Store the pipeline's best send time per user; returns how many rows were written."""
    key = ("user_id",)
    problems = await _check_rows(session, "times", rows, key, SEND_TIME_RANGES)
    if problems:
        return Outcome.refused(problems)
    values = [asdict(r) for r in rows]
    count = await _upsert(session, UserOptimalSendTime, values, key, last_calculated_at=func.now())
    return Outcome(value=count, ref=("OptimalSendTimes", count))


# Campaign optimisations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptimizationFields:
    campaign_id: int
    recommendation_type: RecommendationType
    recommendation_text: str
    confidence_score: float
    potential_uplift_percent: float | None = None
    implementation_effort: Effort | None = None
    priority: int = 5


async def create_optimization(
    *, session: AsyncSession, actor: Actor, data: OptimizationFields
) -> Outcome[CampaignOptimization]:
    """Record a recommendation for a campaign."""
    problems = Problems()
    problems.require_length("recommendation_text", data.recommendation_text, max_length=5000, required=True)
    problems.require_range("confidence_score", data.confidence_score, low=0, high=1)
    problems.require_range("potential_uplift_percent", data.potential_uplift_percent, low=-100, high=1000)
    problems.require_range("priority", data.priority, low=1, high=10)
    if await session.get(Campaign, data.campaign_id) is None:
        problems.add("campaign_id", "No such campaign.", ProblemCode.NOT_FOUND)
    if problems:
        return Outcome.refused(problems)
    effort = data.implementation_effort
    row = CampaignOptimization(
        **asdict(data),
        created_by_id=actor.viewer.user_id,
    )
    row.recommendation_type = data.recommendation_type.value
    row.implementation_effort = None if effort is None else effort.value
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_change(
        session,
        actor=actor,
        action="campaign_optimization.create",
        entity_type="campaign_optimization",
        entity_id=row.id,
        after=snapshot(row),
    )
    return Outcome(value=row, ref=("CampaignOptimization", row.id))


async def mark_implemented(
    *, session: AsyncSession, actor: Actor, optimization_id: int, now: dt.datetime
) -> Outcome[CampaignOptimization]:
    """Record that a recommendation was put in place; doing it again changes nothing."""
    row = await session.scalar(
        select(CampaignOptimization).where(CampaignOptimization.id == optimization_id).with_for_update()
    )
    if row is None:
        return Outcome.one_problem("id", "No such optimization.", ProblemCode.NOT_FOUND)
    if not row.implemented:
        before = snapshot(row)
        await session.execute(
            update(CampaignOptimization)
            .where(CampaignOptimization.id == optimization_id)
            .values(implemented=True, implemented_at=now)
        )
        await session.refresh(row)
        await record_change(
            session,
            actor=actor,
            action="campaign_optimization.implement",
            entity_type="campaign_optimization",
            entity_id=row.id,
            before=before,
            after=snapshot(row),
        )
    return Outcome(value=row, ref=("CampaignOptimization", row.id))
