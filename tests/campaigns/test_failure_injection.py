"""A failure midway through a multi-table mutation (campaign row written, audit row not yet) leaves
the database exactly as it was, and the client sees a masked INTERNAL error, never the exception."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry, IdempotencyKey
from models.campaigns import Campaign
from resolvers.campaigns import writes as campaign_writes

CREATE = """
mutation ($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id } userErrors { code } }
}
"""
INPUT = {"name": "Doomed", "type": "EMAIL_OFFER", "idempotencyKey": "doomed-1"}


class InjectedFailure(RuntimeError):
    pass


async def _counts(live: Any) -> tuple[int, int, int]:
    async with live.sessionmaker() as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Campaign, AuditLogEntry, IdempotencyKey)
            ]
        )


async def test_a_failure_after_the_first_write_rolls_everything_back(
    live, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # given a mutation that dies after inserting the campaign, before its audit row
    async def explode(*args: object, **kwargs: object) -> None:
        raise InjectedFailure("disk on fire: secret detail")

    monkeypatch.setattr(campaign_writes, "record_change", explode)
    before = await _counts(live)

    # when it runs
    result = await live.execute(CREATE, {"input": INPUT}, viewer=Viewer(role=Role.ADMIN))

    # then nothing was written: no campaign, no audit row, no idempotency key
    assert await _counts(live) == before == (0, 0, 0)
    # and the client got a coded, masked error
    assert result.data == {"createCampaign": None}
    error = result.errors[0]
    assert error.extensions["code"] == "INTERNAL"
    assert "secret detail" not in error.message

    # and once the fault is gone, a retry with the same key really writes (the key was not burnt)
    monkeypatch.undo()
    retry = await live.execute(CREATE, {"input": INPUT}, viewer=Viewer(role=Role.ADMIN))
    assert retry.data["createCampaign"]["userErrors"] == []
    assert await _counts(live) == (1, 1, 1)
