"""ML mutations: model versions (the ML service, admins), and `MlMutation`, every ML mutation.

Bulk scores are in score_mutations.py, campaign advice in optimization_mutations.py.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ML_PIPELINE
from loaders.ml import MlModelByIdLoader
from models import ml as m
from resolvers.ml import writes
from schema.ml.optimization_mutations import CampaignOptimizationMutation
from schema.ml.score_mutations import SCORE, MlScoreMutation
from schema.ml.types import MlModel, ModelType
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

# The loader shows every model version; the ML pipeline's roles may read MlModel.
REREAD = by_id(MlModelByIdLoader)


@strawberry.input(description="A trained model version to register.")
class UploadModelVersionInput:
    name: str = strawberry.field(description="Model name (up to 255).")
    model_type: ModelType = strawberry.field(description="What it predicts.")
    version: str = strawberry.field(description="Version, unique per name (up to 50), e.g. 1.2.0.")
    training_date: dt.datetime = strawberry.field(description="When training finished (UTC, not future).")
    accuracy: float | None = strawberry.field(default=None, description=f"Accuracy, {SCORE}")
    precision: float | None = strawberry.field(default=None, description=f"Precision, {SCORE}")
    recall: float | None = strawberry.field(default=None, description=f"Recall, {SCORE}")
    f1_score: float | None = strawberry.field(default=None, description=f"F1 score, {SCORE}")
    auc_score: float | None = strawberry.field(default=None, description=f"ROC AUC, {SCORE}")
    feature_count: int | None = strawberry.field(default=None, description="Number of features, 0 or more.")
    training_samples: int | None = strawberry.field(default=None, description="Training set size, 0 or more.")
    model_path: str | None = strawberry.field(default=None, description="Where the artefact is (up to 500).")
    activate: bool = strawberry.field(
        default=False,
        description="Make it the ACTIVE version of its type, deprecating the current one (else TRAINING).",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A model version to make the active one of its type (e.g. to roll back).")
class ActivateModelVersionInput:
    id: relay.GlobalID = strawberry.field(description="The model version (MlModel).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The model version as written, or why nothing was written.")
class MlModelPayload:
    model: MlModel | None = strawberry.field(description="The model version after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


async def _model_payload(info: Ctx, operation: str, input: Any, write: Any) -> MlModelPayload:
    row, errors = await run_mutation(info, operation=operation, input=input, write=write, reread=REREAD)
    return MlModelPayload(model=None if row is None else MlModel.from_row(row), user_errors=errors)


@strawberry.type
class MlModelMutation:
    @strawberry.mutation(
        description="Register a trained model version, optionally activating it (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def upload_model_version(self, info: Ctx, input: UploadModelVersionInput) -> MlModelPayload | None:
        data = writes.ModelFields(
            name=input.name,
            model_type=m.ModelType(input.model_type),
            version=input.version,
            training_date=input.training_date,
            accuracy=input.accuracy,
            precision=input.precision,
            recall=input.recall,
            f1_score=input.f1_score,
            auc_score=input.auc_score,
            feature_count=input.feature_count,
            training_samples=input.training_samples,
            model_path=input.model_path,
        )

        write = partial(
            writes.upload_model_version, data=data, activate=input.activate, now=dt.datetime.now(dt.UTC)
        )
        return await _model_payload(info, "uploadModelVersion", input, write)

    @strawberry.mutation(
        description="Make a model version the active one of its type (ML service, admins).",
        permission_classes=[allow(ML_PIPELINE)],
    )
    async def activate_model_version(
        self, info: Ctx, input: ActivateModelVersionInput
    ) -> MlModelPayload | None:
        model_id = pk_of(input.id, "MlModel")
        if model_id is None:
            return MlModelPayload(model=None, user_errors=not_an_id("id", "MlModel"))

        write = partial(writes.activate_model_version, model_id=model_id)
        return await _model_payload(info, "activateModelVersion", input, write)


# Inherited fields come first, in the order of the bases: the schema lists models, scores, advice.
@strawberry.type
class MlMutation(MlModelMutation, MlScoreMutation, CampaignOptimizationMutation):
    pass
