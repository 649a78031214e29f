"""The Python gql client's WebSocket transport, pinned to the legacy graphql-ws subprotocol
(subscriptions-transport-ws), against two live servers sharing one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

from core.settings import Settings
from core.viewer import Role
from tests.transport.conftest import serve
from tests.transport.ws.world import (
    COMPLETE,
    DEADLINE_S,
    RENAME,
    SCHEDULE,
    START,
    STATUS,
    World,
    close_code,
    gql_client,
    make_world,
    post,
    token,
    two_servers,
)


@pytest.fixture
async def world(settings: Settings, scratch_db_url: str) -> World:
    return await make_world(settings, scratch_db_url)


async def test_a_mutation_on_one_server_reaches_a_subscriber_on_the_other(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        async with gql_client(b, world.merchant) as session:
            request = GraphQLRequest(STATUS, variable_values={"id": world.campaign})
            events = session.subscribe(request, get_execution_result=True)
            async with asyncio.timeout(DEADLINE_S):
                # given the merchant's page subscribed on B: the campaign as it is
                now = await anext(events)
                assert now.data == {
                    "campaignStatusChanged": {
                        "id": world.campaign, "status": "DRAFT", "name": "Spring",
                        "merchant": {"name": "Blue Bottle"},
                    }
                }  # fmt: skip
                # when a marketer renames it on A (no status change: nothing is pushed) and schedules it
                await post(a, world.marketer, RENAME, {"id": world.campaign, "name": "Spring sale"})
                await post(a, world.marketer, SCHEDULE, {"id": world.campaign})
                scheduled = await anext(events)
                # and renames and starts it again
                await post(a, world.marketer, RENAME, {"id": world.campaign, "name": "Spring sale II"})
                await post(a, world.marketer, START, {"id": world.campaign})
                running = await anext(events)
            await events.aclose()

    # then each event carries the row as committed, read afresh (no loader kept the first read)
    assert scheduled.data["campaignStatusChanged"]["status"] == "SCHEDULED"
    assert scheduled.data["campaignStatusChanged"]["name"] == "Spring sale"
    assert running.data["campaignStatusChanged"]["status"] == "RUNNING"
    assert running.data["campaignStatusChanged"]["name"] == "Spring sale II"
    # and the versions of what changed only go up
    assert 0 < scheduled.extensions["version"] < running.extensions["version"]


async def test_a_merchant_cannot_subscribe_to_another_merchants_campaign(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with serve(scratch_db_url, services["redis_url"], tmp_path / "b.log", REDIS_KEY_PREFIX=redis_prefix) as b:
        async with gql_client(b, world.merchant) as session:
            request = GraphQLRequest(STATUS, variable_values={"id": world.other_campaign})
            with pytest.raises(TransportQueryError) as refused:
                async with asyncio.timeout(DEADLINE_S):
                    await anext(session.subscribe(request))

    # refused as if it did not exist, as the `campaign` query answers null
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_rolled_back_mutation_publishes_nothing(
    world: World,
    scratch_db_url: str,
    services: dict[str, str],
    tmp_path: Path,
    redis_prefix: str,
    redis_client: aioredis.Redis,
) -> None:
    version_key = f"{redis_prefix}changes:version"
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        async with gql_client(b, world.merchant) as session:
            request = GraphQLRequest(STATUS, variable_values={"id": world.campaign})
            events = session.subscribe(request, get_execution_result=True)
            async with asyncio.timeout(DEADLINE_S):
                await anext(events)
                before = int(await redis_client.get(version_key) or 0)
                # when a mutation is refused with userErrors (a draft cannot be completed): rolled back
                refused = await post(a, world.marketer, COMPLETE, {"id": world.campaign})
                assert refused["data"]["completeCampaign"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]
                # and then one that commits
                await post(a, world.marketer, SCHEDULE, {"id": world.campaign})
                event = await anext(events)
            await events.aclose()
        after = int(await redis_client.get(version_key) or 0)

    # then only the committed one was published, and it is what the subscriber got
    assert after == before + 1
    assert event.extensions["version"] == after
    assert event.data["campaignStatusChanged"]["status"] == "SCHEDULED"


async def test_an_expired_token_closes_the_connection_with_4403(
    world: World, settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path,
    redis_prefix: str,
) -> None:  # fmt: skip
    with serve(scratch_db_url, services["redis_url"], tmp_path / "b.log", REDIS_KEY_PREFIX=redis_prefix) as b:
        # a service token living 3 s, minted once the servers are up
        short = token(settings, Role.SERVICE, user_id=None, ttl=dt.timedelta(seconds=3))
        async with gql_client(b, short) as session:
            request = GraphQLRequest(STATUS, variable_values={"id": world.campaign})
            events = session.subscribe(request)
            with pytest.raises(Exception) as closed:  # noqa: B017 - the client's own; its cause has the code
                async with asyncio.timeout(DEADLINE_S):
                    await anext(events)  # the campaign now
                    await anext(events)  # nothing changes: the token expires first

    assert close_code(closed.value) == 4403


CAMPAIGN = "query ($id: ID!) { campaign(id: $id) { name status } }"
CREATE = """
mutation ($key: String!) {
  createCampaign(input: {name: "Over the socket", type: EMAIL_OFFER, idempotencyKey: $key}) {
    campaign { id name } userErrors { code }
  }
}
"""
COUNT = "{ campaigns(first: 50) { totalCount } }"
# One alias more than GRAPHQL_MAX_ALIASES allows.
ALIASES = "{ " + " ".join(f"a{n}: __typename" for n in range(16)) + " }"


async def test_queries_and_mutations_over_the_socket_follow_the_http_rules(
    world: World, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    log = tmp_path / "server.log"
    with serve(scratch_db_url, services["redis_url"], log, REDIS_KEY_PREFIX=redis_prefix) as base:
        async with gql_client(base, world.marketer) as session, asyncio.timeout(DEADLINE_S):
            read = await session.execute(GraphQLRequest(CAMPAIGN, variable_values={"id": world.campaign}))
            # a mutation retried with its idempotency key: written once, answered the same
            created = await session.execute(GraphQLRequest(CREATE, variable_values={"key": "ws-retry-1"}))
            retried = await session.execute(GraphQLRequest(CREATE, variable_values={"key": "ws-retry-1"}))
            counted = await session.execute(GraphQLRequest(COUNT))
            # and the document limits of HTTP
            with pytest.raises(TransportQueryError) as refused:
                await session.execute(GraphQLRequest(ALIASES))

    assert read == {"campaign": {"name": "Spring", "status": "DRAFT"}}
    assert created == retried and created["createCampaign"]["userErrors"] == []
    assert counted == {"campaigns": {"totalCount": 3}}
    assert refused.value.errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
