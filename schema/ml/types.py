"""GraphQL types of the ML outputs: model versions and campaign optimisation advice."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from core.policies import ML_MODEL_READERS, OPTIMIZATION_READERS
from loaders.ml import CampaignOptimizationByIdLoader, MlModelByIdLoader
from models import ml as m
from schema.caching.hints import cache_hint
from schema.nodes import LoadedNode
from schema.permissions import type_policy

RecommendationType = strawberry.enum(m.RecommendationType, description="What a recommendation changes.")
Effort = strawberry.enum(m.Effort, description="Effort to implement a recommendation.")
ModelType = strawberry.enum(m.ModelType, description="What a model predicts.")
ModelStatus = strawberry.enum(m.ModelStatus, description="Deployment state of a model version.")


@cache_hint(max_age=300)
@type_policy(OPTIMIZATION_READERS)
@strawberry.federation.type(keys=["id"], description="A recommendation to improve a campaign.")
class CampaignOptimization(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    recommendation_type: RecommendationType = strawberry.field(description="What it changes.")
    recommendation_text: str = strawberry.field(description="The advice.")
    confidence_score: float = strawberry.field(description="Model confidence, 0 to 1.")
    potential_uplift_percent: float | None = strawberry.field(description="Expected improvement, percent.")
    implementation_effort: Effort | None = strawberry.field(description="Effort to implement.")
    priority: int = strawberry.field(description="1 (most urgent) to 10.")
    implemented: bool = strawberry.field(description="Whether it was put in place.")
    implemented_at: dt.datetime | None = strawberry.field(description="When it was put in place (UTC).")
    created_at: dt.datetime = strawberry.field(description="When it was made (UTC).")

    by_id_loader = CampaignOptimizationByIdLoader

    @classmethod
    def from_row(cls, row: m.CampaignOptimization) -> CampaignOptimization:
        return cls(
            id=row.id,
            recommendation_type=m.RecommendationType(row.recommendation_type),
            recommendation_text=row.recommendation_text,
            confidence_score=row.confidence_score,
            potential_uplift_percent=row.potential_uplift_percent,
            implementation_effort=None
            if row.implementation_effort is None
            else m.Effort(row.implementation_effort),
            priority=row.priority,
            implemented=row.implemented,
            implemented_at=row.implemented_at,
            created_at=row.created_at,
        )


# The ML service uploads versions and gets them back in the payload.
@cache_hint(max_age=300)
@type_policy(ML_MODEL_READERS)
@strawberry.federation.type(keys=["id"], description="A trained model version and its scores.")
class MlModel(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Model name.")
    model_type: ModelType = strawberry.field(description="What it predicts.")
    version: str = strawberry.field(description="Version, e.g. 1.2.0.")
    status: ModelStatus = strawberry.field(description="Deployment state; one ACTIVE per type.")
    training_date: dt.datetime = strawberry.field(description="When training finished (UTC).")
    accuracy: float | None = strawberry.field(description="Accuracy, 0 to 1.")
    precision: float | None = strawberry.field(description="Precision, 0 to 1.")
    recall: float | None = strawberry.field(description="Recall, 0 to 1.")
    f1_score: float | None = strawberry.field(description="F1 score, 0 to 1.")
    auc_score: float | None = strawberry.field(description="ROC AUC, 0 to 1.")
    training_samples: int | None = strawberry.field(description="Size of the training set.")

    by_id_loader = MlModelByIdLoader

    @classmethod
    def from_row(cls, row: m.MLModel) -> MlModel:
        return cls(
            id=row.id,
            name=row.name,
            model_type=m.ModelType(row.model_type),
            version=row.version,
            status=m.ModelStatus(row.status),
            training_date=row.training_date,
            accuracy=row.accuracy,
            precision=row.precision,
            recall=row.recall,
            f1_score=row.f1_score,
            auc_score=row.auc_score,
            training_samples=row.training_samples,
        )
