"""Parallel writes on separate connections: one active model per type, unique merchant codes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from models.merchants import Merchant
from models.ml import MLModel
from tests.merchants.support import ADMIN, SERVICE, gid
from tests.models import factories as f

UPLOAD = """
mutation ($input: UploadModelVersionInput!) {
  uploadModelVersion(input: $input) { model { version status } userErrors { field code } }
}
"""
CREATE_MERCHANT = """
mutation ($input: CreateMerchantInput!) {
  createMerchant(input: $input) { merchant { code } userErrors { field code } }
}
"""


def _model(version: str) -> dict[str, object]:
    return {
        "name": "offer_ranker",
        "modelType": "OFFER",
        "version": version,
        "trainingDate": "2024-05-01T00:00:00Z",
        "activate": True,
    }


@pytest.mark.parametrize("already_active", [False, True], ids=["none active", "one active"])
async def test_parallel_activations_leave_exactly_one_active_model(live, already_active: bool) -> None:  # type: ignore[no-untyped-def]
    if already_active:
        async with live.sessionmaker() as session, session.begin():
            await f.make_ml_model(session, model_type="offer", version="0.9", status="active")

    # when two uploads activate a version of the same type at the same moment
    results = await asyncio.gather(
        *(live.execute(UPLOAD, {"input": _model(v)}, viewer=SERVICE) for v in "AB")
    )

    # then both succeed (no 500, no unique violation) and the one committed last is the active one
    assert [r.errors for r in results] == [None, None]
    assert [r.data["uploadModelVersion"]["userErrors"] for r in results] == [[], []]
    async with live.sessionmaker() as session:
        rows = dict((await session.execute(select(MLModel.version, MLModel.status))).all())
    assert list(rows.values()).count("active") == 1
    assert set(rows) == {"A", "B"} | ({"0.9"} if already_active else set())
    assert set(rows.values()) == {"active", "deprecated"}


async def test_parallel_creates_with_one_code_write_one_merchant(live) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        category = await f.make_merchant_category(session, name="Race")
    base = {
        "code": "RACE-1",
        "categoryId": gid("MerchantCategory", category.id),
        "latitude": 1.0,
        "longitude": 2.0,
    }

    results = await asyncio.gather(
        *(
            live.execute(CREATE_MERCHANT, {"input": {**base, "name": f"Shop {i}"}}, viewer=ADMIN)
            for i in range(5)
        )
    )

    assert [r.errors for r in results] == [None] * 5
    payloads = [r.data["createMerchant"] for r in results]
    assert sum(p["merchant"] is not None for p in payloads) == 1
    assert [p["userErrors"] for p in payloads if p["merchant"] is None] == [
        [{"field": "code", "code": "TAKEN"}]
    ] * 4
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Merchant)) == 1
