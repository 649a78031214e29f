"""The response cache over HTTP: a second identical query is a hit with the same answer, a write
through the API makes the next read fresh, and what may not be kept is not."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry import relay

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.viewer import Role
from tests.caching.conftest import bearer
from tests.models import factories as f
from tests.transport.client import client_for

CAMPAIGNS = "{ campaigns(first: 10) { totalCount edges { node { id name merchant { name } } } } }"
CREATE_FLAG = 'mutation { createFlag(input: {key: "x", name: "X", category: UI}) { userErrors { code } } }'
RENAME = """
mutation ($id: ID!, $name: String!) {
  updateCampaign(input: {id: $id, name: $name}) { campaign { name } userErrors { code } }
}
"""


@pytest.fixture
async def db(cache_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(cache_settings.database_url or "", cache_settings, pool_size=2)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def campaign_id(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session, session.begin():
        merchant = await f.make_merchant(session, name="Blue Bottle")
        campaign = await f.make_campaign(session, name="Spring", merchant_id=merchant.id)
    return campaign.id


@pytest.fixture
async def marketer(db: async_sessionmaker[AsyncSession], cache_settings: Settings) -> dict[str, str]:
    async with db() as session, session.begin():
        user = await f.make_user(session, role="marketer")
    return bearer(cache_settings, Role.MARKETER, user_id=user.id)


@pytest.fixture
async def customer(db: async_sessionmaker[AsyncSession], cache_settings: Settings) -> dict[str, str]:
    async with db() as session, session.begin():
        user = await f.make_user(session)
    return bearer(cache_settings, Role.CUSTOMER, user_id=user.id)


async def _ask(client: httpx.AsyncClient, headers: dict[str, str], query: str = CAMPAIGNS) -> httpx.Response:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


async def test_the_same_query_is_answered_from_the_cache(
    client: httpx.AsyncClient, marketer: dict[str, str], campaign_id: int
) -> None:

    first = await _ask(client, marketer)
    second = await _ask(client, marketer)

    assert first.json()["extensions"]["cache"] == {"hit": False, "age": 0, "maxAge": 300}
    assert second.json()["extensions"]["cache"]["hit"] is True
    assert second.json()["data"] == first.json()["data"]
    assert second.json()["data"]["campaigns"]["edges"][0]["node"]["name"] == "Spring"
    # the hit's extensions and request id are its own
    assert second.json()["extensions"]["cost"]["requestedQueryCost"] > 0
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert second.headers["cache-control"] == "private, no-cache"
    assert second.headers["vary"].startswith("Authorization, X-API-Key, Accept")


async def test_a_write_through_the_api_makes_the_next_read_fresh(
    client: httpx.AsyncClient, marketer: dict[str, str], campaign_id: int
) -> None:
    await _ask(client, marketer)
    assert (await _ask(client, marketer)).json()["extensions"]["cache"]["hit"] is True

    renamed = await client.post(
        "/graphql",
        json={
            "query": RENAME,
            "variables": {"id": relay.to_base64("Campaign", campaign_id), "name": "Summer"},
        },
        headers=marketer,
    )
    after = await _ask(client, marketer)

    assert renamed.json()["data"]["updateCampaign"]["userErrors"] == []
    assert renamed.headers["cache-control"] == "no-store"
    assert after.json()["extensions"]["cache"]["hit"] is False
    assert after.json()["data"]["campaigns"]["edges"][0]["node"]["name"] == "Summer"


async def test_a_write_elsewhere_leaves_the_entry_alone(
    client: httpx.AsyncClient, marketer: dict[str, str], campaign_id: int
) -> None:
    await _ask(client, marketer)

    flag = await client.post(
        "/graphql",
        json={"query": CREATE_FLAG},
        headers=marketer,
    )
    again = await _ask(client, marketer)

    assert flag.json()["data"]["createFlag"]["userErrors"] == [], flag.text
    assert again.json()["extensions"]["cache"]["hit"] is True


async def test_an_anonymous_public_answer_may_be_kept_by_shared_caches(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    query = "{ merchants(first: 5) { edges { node { name } } } }"

    first = await _ask(client, {}, query)
    second = await _ask(client, {}, query)

    assert first.headers["cache-control"].startswith("public, max-age=")
    assert second.json()["extensions"]["cache"]["hit"] is True


async def test_answers_with_errors_are_not_kept(client: httpx.AsyncClient, customer: dict[str, str]) -> None:
    body = {"query": "{ campaigns(first: 1) { totalCount } }"}

    first = await client.post("/graphql", json=body, headers=customer)
    second = await client.post("/graphql", json=body, headers=customer)

    assert first.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (
        "cache" not in second.json().get("extensions", {}) or not second.json()["extensions"]["cache"]["hit"]
    )
    assert second.headers["cache-control"] == "no-store"


async def test_a_query_without_hints_is_not_kept(client: httpx.AsyncClient, cache_settings: Settings) -> None:
    query = '{ evaluateFlags(context: {sessionId: "s-1"}) { key value } }'

    first = await _ask(client, {}, query)
    second = await _ask(client, {}, query)

    assert "cache" not in second.json().get("extensions", {})
    assert first.headers["cache-control"] == "no-store"


async def test_a_campaign_read_by_id_outlives_a_write_to_another_campaign(
    client: httpx.AsyncClient,
    marketer: dict[str, str],
    campaign_id: int,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        other = await f.make_campaign(session, name="Other")
    query = "query ($id: ID!) { campaign(id: $id) { name merchant { name } } }"
    body = {"query": query, "variables": {"id": relay.to_base64("Campaign", campaign_id)}}
    await client.post("/graphql", json=body, headers=marketer)

    renamed = await client.post(
        "/graphql",
        json={"query": RENAME, "variables": {"id": relay.to_base64("Campaign", other.id), "name": "Else"}},
        headers=marketer,
    )
    again = await client.post("/graphql", json=body, headers=marketer)

    assert renamed.json()["data"]["updateCampaign"]["userErrors"] == []
    # the entry was made of campaign 1 and its merchant, read by id: campaign 2's rename is not its news
    assert again.json()["extensions"]["cache"]["hit"] is True
    assert again.json()["data"]["campaign"]["name"] == "Spring"


async def test_without_redis_every_answer_is_fresh_and_nothing_fails(
    cache_settings: Settings, marketer: dict[str, str], campaign_id: int
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    away = cache_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})

    async with client_for(away) as client:
        answers = [await _ask(client, marketer) for _ in range(2)]

    assert [a.json()["extensions"]["cache"]["hit"] for a in answers] == [False, False]
    assert answers[1].json()["data"]["campaigns"]["totalCount"] == 1
    assert answers[1].headers["cache-control"] == "no-store"
