"""A retried ML mutation (same idempotency key, same input) answers the same, its payload rebuilt
through the loaders (model versions, campaign advice) or from the count it stored (bulk scores)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Viewer
from models.admin import AuditLogEntry
from tests.merchants.support import MARKETER, SERVICE, count, gid
from tests.models import factories as f

ACTIVATE = """
mutation ($input: ActivateModelVersionInput!) {
  activateModelVersion(input: $input) { model { id status } userErrors { field code } }
}
"""
AFFINITIES = """
mutation ($input: UpsertMerchantAffinitiesInput!) {
  upsertMerchantAffinities(input: $input) { upsertedCount userErrors { field code } }
}
"""
SEND_TIMES = """
mutation ($input: UpsertOptimalSendTimesInput!) {
  upsertOptimalSendTimes(input: $input) { upsertedCount userErrors { field code } }
}
"""
CREATE_OPTIMIZATION = """
mutation ($input: CreateCampaignOptimizationInput!) {
  createCampaignOptimization(input: $input) {
    campaignOptimization { id recommendationText implemented }
    userErrors { field code }
  }
}
"""
IMPLEMENTED = """
mutation ($input: MarkOptimizationImplementedInput!) {
  markOptimizationImplemented(input: $input) {
    campaignOptimization { id implemented implementedAt }
    userErrors { field code }
  }
}
"""
# name: (document, viewer, audit rows the first call writes)
CALLS: dict[str, tuple[str, Viewer, int]] = {
    "activateModelVersion": (ACTIVATE, SERVICE, 1),
    "upsertMerchantAffinities": (AFFINITIES, SERVICE, 0),
    "upsertOptimalSendTimes": (SEND_TIMES, SERVICE, 0),
    "createCampaignOptimization": (CREATE_OPTIMIZATION, MARKETER, 1),
    "markOptimizationImplemented": (IMPLEMENTED, MARKETER, 1),
}


async def _input(db: AsyncSession, name: str) -> dict[str, Any]:
    user, merchant = await f.make_user(db), await f.make_merchant(db)
    if name == "activateModelVersion":
        return {"id": gid("MlModel", (await f.make_ml_model(db)).id)}
    if name == "upsertMerchantAffinities":
        score = {
            "userId": gid("User", user.id),
            "merchantId": gid("Merchant", merchant.id),
            "affinityScore": 0.7,
        }
        return {"scores": [score]}
    if name == "upsertOptimalSendTimes":
        return {"times": [{"userId": gid("User", user.id), "optimalHour": 8, "optimalDayOfWeek": 2}]}
    if name == "createCampaignOptimization":
        campaign = await f.make_campaign(db)
        return {
            "campaignId": gid("Campaign", campaign.id),
            "recommendationType": "OFFER",
            "recommendationText": "Raise the cashback",
            "confidenceScore": 0.8,
        }
    return {"id": gid("CampaignOptimization", (await f.make_campaign_optimization(db)).id)}


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_retry_returns_what_the_first_call_wrote(db: AsyncSession, gql, name: str) -> None:  # type: ignore[no-untyped-def]
    # given a mutation sent with an idempotency key
    document, viewer, audit_rows = CALLS[name]
    variables = {"input": {**await _input(db, name), "idempotencyKey": f"replay-{name}"}}

    # when it is sent again
    first = await gql(document, variables, viewer=viewer)
    second = await gql(document, variables, viewer=viewer)

    # then the retry gets the same answer, and only the first call wrote
    assert first.errors is None and second.errors is None, (first.errors, second.errors)
    payload = first.data[name]
    assert payload["userErrors"] == [] and None not in payload.values()
    assert second.data == first.data
    assert await count(db, AuditLogEntry) == audit_rows
