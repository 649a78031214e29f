"""API keys end to end over HTTP: created once by an admin, used as X-API-Key with the key's role,
told apart from other keys, refused once revoked, and never accepted alongside a bearer token."""

from __future__ import annotations

from datetime import timedelta

import httpx

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role, Viewer
from models.users import User
from server import create_app
from tests.transport.client import serving

CREATE_KEY = (
    'mutation { createApiKey(input: {name: "etl", role: SERVICE}) { key apiKey { id } userErrors { code } } }'
)
REVOKE_KEY = "mutation ($id: ID!) { revokeApiKey(input: {id: $id}) { userErrors { code } } }"
# Allowed to the service role, refused to anonymous callers.
SERVICE_READ = "{ flagUsage(first: 1) { totalCount } }"
SPEND = """
mutation { recordCampaignSpend(input: {campaignId: "Q2FtcGFpZ246OTk5OTk=", date: "2024-01-01", amount: "1"}) {
  userErrors { code } } }
"""


async def test_an_api_key_acts_with_its_role_until_revoked(settings: Settings, scratch_db_url: str) -> None:
    app_settings = settings.model_copy(update={"database_url": scratch_db_url})
    engine = create_engine(scratch_db_url, app_settings, pool_size=2)
    async with create_sessionmaker(engine)() as session, session.begin():
        admin = User(email="root@example.com", name="Root", role="admin")
        session.add(admin)
        await session.flush()
        admin_id = admin.id
    bearer = {
        "authorization": "Bearer "
        + mint_access_token(
            secret=signing_secret(app_settings), user_id=admin_id, role=Role.ADMIN, ttl=timedelta(minutes=5)
        )
    }
    async with serving(create_app(app_settings)) as client:

        async def post(query: str, headers: dict[str, str], variables: dict | None = None) -> httpx.Response:  # type: ignore[type-arg]
            return await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )

        created = (await post(CREATE_KEY, bearer)).json()["data"]["createApiKey"]
        key, key_id = created["key"], created["apiKey"]["id"]
        as_key = {"x-api-key": key}

        allowed = await post(SERVICE_READ, as_key)
        anonymous = await post(SERVICE_READ, {})
        both = await post(SERVICE_READ, {**as_key, **bearer})
        wrong = await post(SERVICE_READ, {"x-api-key": key + "x"})
        spent = await post(SPEND, as_key)
        await post(REVOKE_KEY, bearer, {"id": key_id})
        revoked = await post(SERVICE_READ, as_key)

    assert allowed.status_code == 200 and "errors" not in allowed.json()
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for refused in (both, wrong, revoked):
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert spent.json()["data"]["recordCampaignSpend"]["userErrors"] == [{"code": "NOT_FOUND"}]
    await engine.dispose()


def test_api_key_viewers_are_told_apart() -> None:
    # Rate-limit buckets, idempotency scopes and audit rows key on the label.
    first, second = Viewer(role=Role.SERVICE, api_key_id=1), Viewer(role=Role.SERVICE, api_key_id=2)
    assert (first.label, second.label) == ("api_key:1", "api_key:2")
    assert Viewer(role=Role.SERVICE).label == "service"
