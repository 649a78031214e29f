"""The same Idempotency-Key sent 10 times in parallel, on 10 connections: exactly one write."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from strawberry import relay

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.campaigns import Campaign

CREATE = """
mutation ($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id name } userErrors { code } }
}
"""
MARKETER = Viewer(role=Role.MARKETER)
INPUT = {"name": "Parallel retries", "type": "EMAIL_OFFER", "idempotencyKey": "burst-1"}


async def test_ten_parallel_retries_write_once(live) -> None:  # type: ignore[no-untyped-def]
    # when the mobile app fires the same request ten times at once
    results = await asyncio.gather(
        *(live.execute(CREATE, {"input": INPUT}, viewer=MARKETER) for _ in range(10))
    )

    # then exactly one campaign and one audit row exist
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert await session.scalar(select(func.count()).select_from(AuditLogEntry)) == 1
        campaign_id = await session.scalar(select(Campaign.id))

    # and every attempt either got that campaign or was told to retry later (CONFLICT), never a second write
    answered, conflicts = [], 0
    for result in results:
        if result.errors:
            assert [e.extensions["code"] for e in result.errors] == ["CONFLICT"]
            conflicts += 1
        else:
            answered.append(result.data["createCampaign"]["campaign"]["id"])
    assert len(answered) + conflicts == 10
    assert len(answered) >= 1
    assert len(set(answered)) == 1
    assert answered[0] == relay.to_base64("Campaign", campaign_id)

    # and a later retry replays the one campaign
    retry = await live.execute(CREATE, {"input": INPUT}, viewer=MARKETER)
    assert retry.data["createCampaign"]["campaign"]["id"] == answered[0]
