"""Campaign mutations: validation as userErrors with nothing written, the lifecycle state machine,
the audit trail, idempotent retries and who may write."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry, IdempotencyKey
from models.campaigns import Campaign
from tests.models import factories as f

MARKETER = Viewer(role=Role.MARKETER, user_id=None)
ADMIN = Viewer(role=Role.ADMIN, user_id=None)

CREATE = """
mutation ($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    campaign { id name status type budget }
    userErrors { field message code }
  }
}
"""
TRANSITION = """
mutation ($id: ID!) {
  start: startCampaign(input: {id: $id}) { campaign { status } userErrors { field code } }
}
"""
COMPLETE_THEN_START = """
mutation ($id: ID!) {
  completeCampaign(input: {id: $id}) { campaign { status } userErrors { code } }
  startCampaign(input: {id: $id}) { campaign { status } userErrors { field code message } }
}
"""
DELETE = "mutation ($id: ID!) { deleteCampaign(input: {id: $id}) { deletedCampaignId userErrors { code } } }"

NOW = dt.datetime.now(dt.UTC)
LIVE = {"status": "running", "starts_at": NOW - dt.timedelta(days=1), "ends_at": NOW + dt.timedelta(days=30)}

VALID = {"name": "Spring cashback", "type": "CASHBACK", "budget": "1500.00", "cashbackPercent": "5"}


async def _count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_writes_a_draft_and_its_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": VALID}, viewer=MARKETER)

    assert result.errors is None, result.errors
    payload = result.data["createCampaign"]
    assert payload["userErrors"] == []
    assert payload["campaign"]["status"] == "DRAFT"
    assert payload["campaign"]["budget"] == "1500.00"
    campaign_id = int(relay.GlobalID.from_id(payload["campaign"]["id"]).node_id)
    audit = (await db.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == campaign_id))).one()
    assert (audit.action, audit.entity_type, audit.actor_role) == ("campaign.create", "campaign", "marketer")
    assert audit.after["name"] == "Spring cashback" and audit.before is None


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": ""}, "name", "REQUIRED"),
        ({"name": "x" * 201}, "name", "TOO_LONG"),
        ({"budget": "-1"}, "budget", "OUT_OF_RANGE"),
        ({"cashbackPercent": "101"}, "cashbackPercent", "OUT_OF_RANGE"),
        ({"type": "EMAIL_OFFER"}, "cashbackPercent", "INVALID"),
        ({"startsAt": "2030-02-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}, "endsAt", "INVALID"),
        ({"merchantId": relay.to_base64("Merchant", 9_000_000_000)}, "merchantId", "NOT_FOUND"),
        ({"merchantId": relay.to_base64("Campaign", 1)}, "merchantId", "NOT_FOUND"),
    ],
    ids=[
        "empty name",
        "long name",
        "negative budget",
        "cashback over 100",
        "cashback on email",
        "end before start",
        "unknown merchant",
        "not a merchant id",
    ],
)
async def test_invalid_input_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, changes, field, code
) -> None:  # type: ignore[no-untyped-def]
    before = (await _count(db, Campaign), await _count(db, AuditLogEntry))

    result = await gql(CREATE, {"input": {**VALID, **changes}}, viewer=MARKETER)

    assert result.errors is None, result.errors
    payload = result.data["createCampaign"]
    assert payload["campaign"] is None
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in payload["userErrors"]
    ]
    assert (await _count(db, Campaign), await _count(db, AuditLogEntry)) == before


async def test_the_state_machine_refuses_running_a_completed_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db, **LIVE)
    gid = relay.to_base64("Campaign", campaign.id)

    result = await gql(COMPLETE_THEN_START, {"id": gid}, viewer=MARKETER)

    assert result.data["completeCampaign"]["campaign"]["status"] == "COMPLETED"
    refused = result.data["startCampaign"]
    assert refused["campaign"] is None
    assert refused["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await db.get(Campaign, campaign.id)).status == "completed"


async def test_only_drafts_are_deleted(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    draft = await f.make_campaign(db, status="draft", starts_at=None, ends_at=None)
    running = await f.make_campaign(db, **LIVE)

    gone = await gql(DELETE, {"id": relay.to_base64("Campaign", draft.id)}, viewer=ADMIN)
    kept = await gql(DELETE, {"id": relay.to_base64("Campaign", running.id)}, viewer=ADMIN)

    assert gone.data["deleteCampaign"]["deletedCampaignId"] == relay.to_base64("Campaign", draft.id)
    assert kept.data["deleteCampaign"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]
    assert await db.get(Campaign, running.id) is not None


async def test_a_retry_with_the_same_key_writes_once_and_answers_the_same(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**VALID, "idempotencyKey": "retry-1"}}
    first = await gql(CREATE, variables, viewer=MARKETER)
    second = await gql(CREATE, variables, viewer=MARKETER)

    assert first.data == second.data
    assert await _count(db, Campaign) == 1
    assert (
        await db.scalar(select(IdempotencyKey.status).where(IdempotencyKey.key == "retry-1")) == "completed"
    )


async def test_the_same_key_with_other_input_is_a_conflict(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await gql(CREATE, {"input": {**VALID, "idempotencyKey": "k"}}, viewer=MARKETER)
    other = await gql(CREATE, {"input": {**VALID, "name": "Other", "idempotencyKey": "k"}}, viewer=MARKETER)

    assert other.errors[0].extensions["code"] == "CONFLICT"
    assert await _count(db, Campaign) == 1


async def test_keys_are_scoped_per_viewer(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**VALID, "idempotencyKey": "shared"}}
    for _ in range(2):
        marketer = await f.make_user(db, role="marketer")
        await gql(CREATE, variables, viewer=Viewer(role=Role.MARKETER, user_id=marketer.id))
    assert await _count(db, Campaign) == 2


async def test_the_header_key_replays_the_stored_response_exactly(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    first = await gql(CREATE, {"input": VALID}, viewer=MARKETER, idempotency_key="hdr-1")
    # the campaign changes after the first response was sent...
    campaign = (await db.scalars(select(Campaign))).one()
    campaign.name = "Renamed since"
    await db.flush()

    replay = await gql(CREATE, {"input": VALID}, viewer=MARKETER, idempotency_key="hdr-1")

    # ...yet the replay is the stored first response, not a new read
    assert replay.data == first.data
    assert replay.data["createCampaign"]["campaign"]["name"] == "Spring cashback"
    assert await _count(db, Campaign) == 1


async def test_a_lost_response_is_rebuilt_by_reading(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    first = await gql(CREATE, {"input": VALID}, viewer=MARKETER, idempotency_key="hdr-2")
    row = await db.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "hdr-2"))
    row.response = None  # the attach step after the commit was lost
    await db.flush()

    replay = await gql(CREATE, {"input": VALID}, viewer=MARKETER, idempotency_key="hdr-2")

    assert replay.data == first.data
    assert await _count(db, Campaign) == 1


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        Viewer(role=Role.CUSTOMER, user_id=1),
        Viewer(role=Role.SERVICE),
        ANONYMOUS,
    ],
    ids=["analyst", "merchant", "customer", "service", "anonymous"],
)
async def test_only_admins_and_marketers_write_campaigns(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": VALID}, viewer=viewer)
    assert result.data == {"createCampaign": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await _count(db, Campaign) == 0


TWO_CREATES = """
mutation ($a: CreateCampaignInput!, $b: CreateCampaignInput!) {
  a: createCampaign(input: $a) { campaign { id } }
  b: createCampaign(input: $b) { campaign { id } }
}
"""


async def test_one_header_key_cannot_cover_two_mutations(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(TWO_CREATES, {"a": VALID, "b": VALID}, viewer=MARKETER, idempotency_key="two")

    assert {e.extensions["code"] for e in result.errors} == {"BAD_USER_INPUT"}
    assert await _count(db, Campaign) == 0


async def test_two_mutations_with_their_own_keys_each_run_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {
        "a": {**VALID, "idempotencyKey": "a-1"},
        "b": {**VALID, "name": "Second", "idempotencyKey": "b-1"},
    }
    first = await gql(TWO_CREATES, variables, viewer=MARKETER)
    again = await gql(TWO_CREATES, variables, viewer=MARKETER)

    assert first.errors is None and again.data == first.data
    assert await _count(db, Campaign) == 2


async def test_an_id_beyond_bigint_is_not_found(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(DELETE, {"id": relay.to_base64("Campaign", 10**20)}, viewer=ADMIN)
    assert result.errors is None
    assert result.data["deleteCampaign"]["userErrors"] == [{"code": "NOT_FOUND"}]
