"""A retried merchant mutation (same idempotency key, same input) writes once and answers the same,
its payload rebuilt through the loaders: deactivated merchants and retired categories included."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.admin import AuditLogEntry
from tests.merchants.support import ADMIN, count, gid
from tests.models import factories as f

UPDATE = """
mutation ($input: UpdateMerchantInput!) {
  updateMerchant(input: $input) { merchant { id name isActive } userErrors { field code } }
}
"""
DEACTIVATE = """
mutation ($input: DeactivateMerchantInput!) {
  deactivateMerchant(input: $input) { merchant { id code isActive } userErrors { field code } }
}
"""
CREATE_CATEGORY = """
mutation ($input: CreateMerchantCategoryInput!) {
  createMerchantCategory(input: $input) { merchantCategory { id name } userErrors { field code } }
}
"""
UPDATE_CATEGORY = """
mutation ($input: UpdateMerchantCategoryInput!) {
  updateMerchantCategory(input: $input) { merchantCategory { id name isActive } userErrors { field code } }
}
"""
SET_PARTNERSHIP = """
mutation ($input: SetPartnershipInput!) {
  setPartnership(input: $input) {
    merchant { id code }
    partnership { isPartner partnershipType commissionRate }
    userErrors { field code }
  }
}
"""


async def _inputs(db: AsyncSession, name: str) -> dict[str, Any]:
    merchant = await f.make_merchant(db)
    merchant_id = gid("Merchant", merchant.id)
    category_id = gid("MerchantCategory", merchant.category_id)
    return {
        "updateMerchant": {"id": merchant_id, "name": "Renamed"},
        "deactivateMerchant": {"id": merchant_id},
        "createMerchantCategory": {"name": f"Replayed {f.seq()}"},
        "updateMerchantCategory": {"id": category_id, "isActive": False},
        "setPartnership": {"merchantId": merchant_id, "partnershipType": "PREMIUM", "commissionRate": "4"},
    }[name]


@pytest.mark.parametrize(
    ("name", "document"),
    [
        ("updateMerchant", UPDATE),
        ("deactivateMerchant", DEACTIVATE),
        ("createMerchantCategory", CREATE_CATEGORY),
        ("updateMerchantCategory", UPDATE_CATEGORY),
        ("setPartnership", SET_PARTNERSHIP),
    ],
)
async def test_a_retry_writes_once_and_returns_what_was_written(
    db: AsyncSession, gql, name: str, document: str
) -> None:  # type: ignore[no-untyped-def]
    # given a mutation sent with an idempotency key
    variables = {"input": {**await _inputs(db, name), "idempotencyKey": f"replay-{name}"}}

    # when it is sent again
    first = await gql(document, variables, viewer=ADMIN)
    second = await gql(document, variables, viewer=ADMIN)

    # then the retry gets the same objects back, and only the first wrote an audit row
    assert first.errors is None and second.errors is None, (first.errors, second.errors)
    payload = first.data[name]
    assert payload["userErrors"] == [] and None not in payload.values()
    assert second.data == first.data
    assert await count(db, AuditLogEntry) == 1


async def test_a_replayed_deactivation_returns_the_inactive_merchant(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    variables = {"input": {"id": gid("Merchant", merchant.id), "idempotencyKey": "deactivate-once"}}

    await gql(DEACTIVATE, variables, viewer=ADMIN)
    replayed = await gql(DEACTIVATE, variables, viewer=ADMIN)

    assert replayed.data["deactivateMerchant"]["merchant"] == {
        "id": gid("Merchant", merchant.id),
        "code": merchant.code,
        "isActive": False,
    }
