"""mlModels lists model versions (newest training first, by type and state) and activeModel gives
the one ACTIVE version of a type; staff and the ML service read them, nobody else."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.policies import ML_MODEL_READERS
from core.viewer import Viewer
from tests.merchants.support import ALL, SERVICE, others
from tests.models import factories as f

MODELS = """
query ($type: ModelType, $status: ModelStatus, $first: Int, $after: String) {
  mlModels(modelType: $type, status: $status, first: $first, after: $after) {
    totalCount
    edges { node { name version status modelType } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACTIVE = """
query ($type: ModelType!) { activeModel(modelType: $type) { name version status } }
"""
READERS = [ALL[role] for role in sorted(ML_MODEL_READERS, key=lambda r: r.value)]


def _days(n: int) -> dt.datetime:
    return f.T0 + dt.timedelta(days=n)


async def _models(db: AsyncSession) -> None:
    await f.make_ml_model(db, name="conv", version="1", training_date=_days(1), status="deprecated")
    await f.make_ml_model(db, name="conv", version="2", training_date=_days(3), status="active")
    await f.make_ml_model(db, name="conv", version="3", training_date=_days(5), status="training")
    await f.make_ml_model(
        db, name="churn", version="1", model_type="churn", training_date=_days(4), status="active"
    )


def _versions(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [f"{e['node']['name']}:{e['node']['version']}" for e in result.data["mlModels"]["edges"]]


async def test_models_are_listed_newest_training_first_a_page_at_a_time(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _models(db)

    first = await gql(MODELS, {"first": 3}, viewer=SERVICE)
    cursor = first.data["mlModels"]["pageInfo"]["endCursor"]
    rest = await gql(MODELS, {"first": 3, "after": cursor}, viewer=SERVICE)

    assert _versions(first) == ["conv:3", "churn:1", "conv:2"]
    assert first.data["mlModels"]["totalCount"] == 4
    assert _versions(rest) == ["conv:1"]
    assert rest.data["mlModels"]["pageInfo"]["hasNextPage"] is False


async def test_type_and_status_narrow_the_list(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _models(db)

    conversion = await gql(MODELS, {"type": "CONVERSION"}, viewer=SERVICE)
    active = await gql(MODELS, {"status": "ACTIVE"}, viewer=SERVICE)
    both = await gql(MODELS, {"type": "CHURN", "status": "TRAINING"}, viewer=SERVICE)

    assert _versions(conversion) == ["conv:3", "conv:2", "conv:1"]
    assert _versions(active) == ["churn:1", "conv:2"]
    assert _versions(both) == []
    assert active.data["mlModels"]["edges"][0]["node"]["modelType"] == "CHURN"


async def test_the_active_model_of_each_type(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _models(db)

    conversion = await gql(ACTIVE, {"type": "CONVERSION"}, viewer=SERVICE)
    churn = await gql(ACTIVE, {"type": "CHURN"}, viewer=SERVICE)
    offer = await gql(ACTIVE, {"type": "OFFER"}, viewer=SERVICE)

    assert conversion.data["activeModel"] == {"name": "conv", "version": "2", "status": "ACTIVE"}
    assert churn.data["activeModel"] == {"name": "churn", "version": "1", "status": "ACTIVE"}
    assert offer.errors is None and offer.data["activeModel"] is None


@pytest.mark.parametrize("viewer", READERS, ids=lambda v: v.role.value)
async def test_staff_and_the_ml_service_read_models(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await _models(db)

    listed = await gql(MODELS, {"type": "CHURN"}, viewer=viewer)
    active = await gql(ACTIVE, {"type": "CHURN"}, viewer=viewer)

    assert _versions(listed) == ["churn:1"]
    assert active.data["activeModel"]["version"] == "1"


@pytest.mark.parametrize("viewer", others(*ML_MODEL_READERS), ids=lambda v: v.role.value)
async def test_others_are_refused(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await _models(db)

    for document in (MODELS, ACTIVE):
        result = await gql(document, {"type": "CHURN"}, viewer=viewer)
        assert result.errors is not None
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
