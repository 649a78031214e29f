"""Reading the model versions (staff, the ML service): filtered, newest training first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, select

from loaders.base import Reader
from loaders.ml import ML_MODEL_COLUMNS
from models.ml import MLModel, ModelStatus, ModelType
from resolvers.pagination import Page, PageRequest, SortKey, paginate

# A few versions per type are trained a year: the table stays small enough that this order needs no
# index of its own (model_type's index narrows a filtered list first).
NEWEST_TRAINED = SortKey(column=MLModel.training_date, id_column=MLModel.id, descending=True)


async def list_models(
    *, session: Reader, model_type: ModelType | None, status: ModelStatus | None, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    """Return one page of model versions, newest training first, and the filtered query."""
    query = select(*ML_MODEL_COLUMNS)
    if model_type is not None:
        query = query.where(MLModel.model_type == model_type.value)
    if status is not None:
        query = query.where(MLModel.status == status.value)
    return await paginate(session, query, key=NEWEST_TRAINED, page=page), query
