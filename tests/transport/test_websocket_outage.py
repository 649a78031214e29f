"""Redis going away under live subscriptions, with the graphql-ws client against a live server whose
Redis is reached through a TCP relay the test can take away: every active subscription is sent a
`next` coded SERVICE_UNAVAILABLE and then `complete`, queries and mutations keep working, and once
Redis is back a client subscribing again is served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from tests.transport.conftest import serve
from tests.transport.outage import PostgresRelay
from tests.transport.ws.node import subscribed
from tests.transport.ws.world import DEADLINE_S, SCHEDULE, STATUS, World, make_world, post

CAMPAIGN = "query ($id: ID!) { campaign(id: $id) { status } }"


@pytest.fixture
def redis_relay(services: dict[str, str], server_url: str) -> Iterator[PostgresRelay]:
    """A relay to the tests' Redis (its unix socket, or host and port), on 127.0.0.1."""
    relay = PostgresRelay(server_url)
    url = services["redis_url"]
    if url.startswith("unix://"):
        relay.upstream = url.removeprefix("unix://").split("?", 1)[0]
    else:
        host_port = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        host, _, port = host_port.partition(":")
        relay.upstream = (host, int(port or 6379))
    relay.start()
    try:
        yield relay
    finally:
        relay.close()


async def test_subscriptions_end_with_service_unavailable_and_the_api_keeps_working(
    settings: Settings, scratch_db_url: str, tmp_path: Path, redis_prefix: str, redis_relay: PostgresRelay
) -> None:
    world: World = await make_world(settings, scratch_db_url)
    relayed = f"redis://127.0.0.1:{redis_relay.port}/0"
    with serve(scratch_db_url, relayed, tmp_path / "server.log", REDIS_KEY_PREFIX=redis_prefix) as base:
        async with subscribed(base, world.merchant, STATUS, {"id": world.campaign}) as page:
            async with asyncio.timeout(DEADLINE_S):
                assert (await page.next())["type"] == "next"
                # when Redis goes away
                redis_relay.stop()
                lost = await page.next()
                ended = await page.next()

        # then the subscription was told, with a code, and completed
        assert lost["type"] == "next"
        assert [e["extensions"]["code"] for e in lost["payload"]["errors"]] == ["SERVICE_UNAVAILABLE"]
        assert ended["type"] == "complete"

        # and queries and mutations keep working over HTTP
        async with asyncio.timeout(DEADLINE_S):
            scheduled = await post(base, world.marketer, SCHEDULE, {"id": world.campaign})
            read = await post(base, world.marketer, CAMPAIGN, {"id": world.campaign})
        assert scheduled["data"] == {
            "scheduleCampaign": {"campaign": {"status": "SCHEDULED"}, "userErrors": []}
        }
        assert read["data"] == {"campaign": {"status": "SCHEDULED"}}

        # and a new subscription is refused with the same code while Redis is away
        async with subscribed(base, world.merchant, STATUS, {"id": world.campaign}) as early:
            async with asyncio.timeout(DEADLINE_S):
                refused = await early.next()
        assert [e["extensions"]["code"] for e in refused.get("errors", [])] == ["SERVICE_UNAVAILABLE"]

        # and once Redis is back, subscribing again is served (the server reconnects on its own)
        redis_relay.start()
        served = None
        async with asyncio.timeout(DEADLINE_S):
            while served is None:
                async with subscribed(base, world.merchant, STATUS, {"id": world.campaign}) as again:
                    first = await again.next()
                if first["type"] == "next":
                    served = first
                else:
                    await asyncio.sleep(0.2)
        assert served["payload"]["data"]["campaignStatusChanged"]["status"] == "SCHEDULED"
