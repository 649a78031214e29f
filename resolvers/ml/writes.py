"""ML model writes: versions uploaded by the pipeline, one active per type, each change audited
(uploads and activations are configuration)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.ml import MLModel, ModelStatus, ModelType
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

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
    # A time without offset is UTC, the API's convention.
    trained = data.training_date if data.training_date.tzinfo else data.training_date.replace(tzinfo=dt.UTC)
    if trained > now:
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
