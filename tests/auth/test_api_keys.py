"""API keys: created and revoked by admins, shown once, stored hashed, acting with their role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.tokens import token_digest
from core.viewer import Role, Viewer
from models.auth import ApiKey
from resolvers.auth.api_keys import viewer_for_api_key
from tests.models import factories as f

CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    key
    apiKey { id name prefix role merchantId expiresAt revokedAt }
    userErrors { field code }
  }
}
"""
REVOKE = "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { revokedAt } userErrors { code } } }"


async def _admin(db: AsyncSession) -> Viewer:
    return Viewer(role=Role.ADMIN, user_id=(await f.make_user(db, role="admin")).id)


async def test_a_key_is_shown_once_stored_hashed_and_acts_with_its_role(gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    admin = await _admin(db)
    merchant = await f.make_merchant(db)
    merchant_gid = str(relay.GlobalID("Merchant", str(merchant.id)))

    result = await gql(
        CREATE, {"input": {"name": "POS sync", "role": "MERCHANT", "merchantId": merchant_gid}}, viewer=admin
    )

    payload = result.data["createApiKey"]
    key = payload["key"]
    assert payload["userErrors"] == [] and key.startswith(payload["apiKey"]["prefix"] + ".")
    row = await db.scalar(select(ApiKey).where(ApiKey.prefix == payload["apiKey"]["prefix"]))
    assert row is not None and row.key_hash == token_digest(key) and key not in row.key_hash
    assert await viewer_for_api_key(db, key) == Viewer(
        role=Role.MERCHANT, merchant_id=merchant.id, api_key_id=row.id
    )
    assert row.last_used_at is not None
    assert await viewer_for_api_key(db, key + "x") is None


async def test_only_admins_manage_keys(gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.MARKETER, Role.SERVICE, Role.ANONYMOUS):
        result = await gql(
            CREATE, {"input": {"name": "x", "role": "SERVICE"}}, viewer=Viewer(role=role, user_id=5)
        )
        assert result.errors is not None and result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_a_merchant_key_needs_its_merchant_and_expiry_is_in_the_future(gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    admin = await _admin(db)
    past = "2000-01-01T00:00:00+00:00"

    result = await gql(CREATE, {"input": {"name": " ", "role": "MERCHANT", "expiresAt": past}}, viewer=admin)

    assert result.data["createApiKey"]["userErrors"] == [
        {"field": "name", "code": "REQUIRED"},
        {"field": "merchantId", "code": "REQUIRED"},
        {"field": "expiresAt", "code": "OUT_OF_RANGE"},
    ]


async def test_revoked_and_expired_keys_stop_working(gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    admin = await _admin(db)
    created = (await gql(CREATE, {"input": {"name": "etl", "role": "SERVICE"}}, viewer=admin)).data[
        "createApiKey"
    ]
    expiring = (
        await gql(
            CREATE,
            {"input": {"name": "soon", "role": "ANALYST", "expiresAt": "2100-01-01T00:00:00+00:00"}},
            viewer=admin,
        )
    ).data["createApiKey"]
    assert (await viewer_for_api_key(db, created["key"])).role is Role.SERVICE  # type: ignore[union-attr]

    revoked = await gql(REVOKE, {"id": created["apiKey"]["id"]}, viewer=admin)

    assert revoked.data["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    assert await viewer_for_api_key(db, created["key"]) is None
    assert (await viewer_for_api_key(db, expiring["key"])).role is Role.ANALYST  # type: ignore[union-attr]
    later = dt.datetime(2100, 1, 2, tzinfo=dt.UTC)
    assert await viewer_for_api_key(db, expiring["key"], now=later) is None
    missing = await gql(REVOKE, {"id": str(relay.GlobalID("ApiKey", "999999999"))}, viewer=admin)
    assert missing.data["revokeApiKey"]["userErrors"] == [{"code": "NOT_FOUND"}]
