"""The model versions the ML service registered (mlModels) and the one serving each type
(activeModel): staff and the ML service, like MlModel itself."""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.context import Ctx
from core.policies import ML_MODEL_READERS
from loaders.ml import ActiveMlModelByTypeLoader
from models import ml as m
from resolvers.ml import reads
from schema.connections import Connection, page_request, paged
from schema.ml.types import MlModel, ModelStatus, ModelType
from schema.permissions import allow


@strawberry.type
class MlQuery:
    @strawberry.field(
        description="Model versions, newest training first, a page at a time (staff, ML service).",
        permission_classes=[allow(ML_MODEL_READERS)],
    )
    async def ml_models(
        self,
        info: Ctx,
        model_type: Annotated[ModelType | None, strawberry.argument(description="Only this type.")] = None,
        status: Annotated[ModelStatus | None, strawberry.argument(description="Only this state.")] = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[MlModel] | None:
        request = page_request(first, after, last, before)
        wanted_type = None if model_type is None else m.ModelType(model_type)
        wanted_status = None if status is None else m.ModelStatus(status)
        return await paged(
            info.context,
            lambda session: reads.list_models(
                session=session, model_type=wanted_type, status=wanted_status, page=request
            ),
            MlModel.from_row,
        )

    @strawberry.field(
        description="The ACTIVE version of a model type; null when none is (staff, ML service).",
        permission_classes=[allow(ML_MODEL_READERS)],
    )
    async def active_model(
        self,
        info: Ctx,
        model_type: Annotated[ModelType, strawberry.argument(description="What it predicts.")],
    ) -> MlModel | None:
        row = await info.context.loader(ActiveMlModelByTypeLoader).load(m.ModelType(model_type).value)
        return None if row is None else MlModel.from_row(row)
