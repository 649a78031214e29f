"""TRUSTED_PROXIES: the client address behind a load balancer. Off by default (X-Forwarded-For is
ignored, so nobody can choose their own per-IP budget); set, the forwarded address of a trusted peer
counts, and the per-IP limits tell the clients behind it apart."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from core.settings import Settings
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

# More than a budget of 1 can pay: the first request pays into debt, the next one from the same
# address is refused.
COSTLY = "{ campaigns(first: 50) { edges { node { id } } } }"
SPEC = {"accept": GRAPHQL_RESPONSE_JSON}


async def _statuses(client: httpx.AsyncClient, *forwarded: str) -> list[int]:
    statuses = []
    for address in forwarded:
        response = await client.post(
            "/graphql", json={"query": COSTLY}, headers={**SPEC, "x-forwarded-for": address}
        )
        statuses.append(response.status_code)
    return statuses


def _tiny(settings: Settings, redis_prefix: str, **changes: object) -> Settings:
    update = {"rate_limit_bucket": 1, "rate_limit_refill_per_second": 0.01, "redis_key_prefix": redis_prefix}
    return settings.model_copy(update={**update, **changes})


async def test_forwarded_addresses_are_ignored_by_default(settings: Settings, redis_prefix: str) -> None:
    async with client_for(_tiny(settings, redis_prefix)) as client:
        # then a client cannot pick a fresh budget by naming another address
        assert await _statuses(client, "203.0.113.7", "203.0.113.8") == [200, 429]


@pytest.mark.parametrize("trusted", ["127.0.0.1", "127.0.0.0/8", "10.1.2.3, 127.0.0.1", "*"])
async def test_a_trusted_proxy_gives_the_client_address(
    settings: Settings, redis_prefix: str, trusted: str
) -> None:
    # The test client connects from 127.0.0.1: it is the load balancer here.
    async with client_for(_tiny(settings, redis_prefix, trusted_proxies=trusted)) as client:
        statuses = await _statuses(
            client,
            "203.0.113.7",
            "203.0.113.7",
            # what the client wrote is on the left; the proxy appends the address it saw
            "198.51.100.1, 203.0.113.8",
        )

    assert statuses == [200, 429, 200]


async def test_an_untrusted_peer_cannot_forward(settings: Settings, redis_prefix: str) -> None:
    async with client_for(_tiny(settings, redis_prefix, trusted_proxies="10.0.0.0/8")) as client:
        assert await _statuses(client, "203.0.113.7", "203.0.113.8") == [200, 429]


def test_a_malformed_proxy_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8, lb.internal")  # type: ignore[call-arg]
