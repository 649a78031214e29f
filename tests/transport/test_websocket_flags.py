"""`flagsChanged` with the Python gql client (legacy graphql-ws subprotocol) against two live
servers: a customer subscribed on B gets their re-evaluated flags after a marketer toggles one on A;
a write that changes nothing this context sees, and a refused one, push nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gql import GraphQLRequest

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.viewer import Role
from tests.models import factories as f
from tests.transport.ws.world import DEADLINE_S, gql_client, post, token, two_servers

FLAGS = """
subscription ($keys: [String!]) { flagsChanged(context: {appType: MOBILE}, keys: $keys) { key value reason } }
"""
TOGGLE = """
mutation ($key: String!, $enabled: Boolean!, $reason: String!) {
  toggleFlag(input: {key: $key, enabled: $enabled, reason: $reason}) { userErrors { code } }
}
"""


@pytest.fixture
async def people(settings: Settings, scratch_db_url: str) -> dict[str, str]:
    engine = create_engine(scratch_db_url, settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await f.make_feature_flag(session, key="dark-mode", enabled=False)
            await f.make_feature_flag(session, key="other", enabled=False)
            customer = await f.make_user(session)
            marketer = await f.make_user(session, role="marketer")
    finally:
        await engine.dispose()
    return {
        "customer": token(settings, Role.CUSTOMER, user_id=customer.id),
        "marketer": token(settings, Role.MARKETER, user_id=marketer.id),
    }


async def test_a_toggle_on_one_server_reaches_the_customer_on_the_other(
    people: dict[str, str], scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        async with gql_client(b, people["customer"]) as session:
            request = GraphQLRequest(FLAGS, variable_values={"keys": ["dark-mode"]})
            events = session.subscribe(request, get_execution_result=True)
            async with asyncio.timeout(DEADLINE_S):
                first = await anext(events)
                # a write to a flag this subscription does not ask for, and a refused write: nothing
                other = {"key": "other", "enabled": True, "reason": "unrelated"}
                assert (await post(a, people["marketer"], TOGGLE, other))["data"]
                refused = {"key": "dark-mode", "enabled": True, "reason": ""}
                answer = await post(a, people["marketer"], TOGGLE, refused)
                assert answer["data"]["toggleFlag"]["userErrors"], answer  # type: ignore[index]
                # when the marketer switches dark mode on, on server A
                on = {"key": "dark-mode", "enabled": True, "reason": "launch"}
                await post(a, people["marketer"], TOGGLE, on)
                after = await anext(events)
            await events.aclose()

    assert first.data == {"flagsChanged": [{"key": "dark-mode", "value": False, "reason": "DISABLED"}]}
    # the next event is the switch itself: the two writes before it pushed nothing (an event for
    # them would have come first, with dark mode still off)
    assert after.data["flagsChanged"][0]["key"] == "dark-mode"
    assert after.data["flagsChanged"][0]["value"] is True
