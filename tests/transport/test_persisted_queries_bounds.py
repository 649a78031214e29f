"""What persisted queries may hold in Redis: each document for a TTL started again by its use, none
longer than APQ_MAX_DOCUMENT_BYTES, and only so many new ones per caller and window; each worker's
own copies; and Redis away: a hash the worker does not hold misses, the documents clients then send
are answered, nothing fails."""

from __future__ import annotations

import asyncio
import logging
import math
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import Route

from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from server import create_app
from tests.transport.client import client_for, serving
from tests.transport.outage import PostgresRelay
from tests.transport.test_persisted_queries import QUERY, SPEC, hash_only, sha256, the_error, with_hash
from transport import apq_store
from transport.http import GraphQLEndpoint

PERSISTED_LOGGER = "swipesavvy.persisted"


def _endpoint(app: Starlette) -> GraphQLEndpoint:
    # The HTTP route: a WebSocketRoute shares the path (transport/websocket.py).
    (route,) = [route for route in app.routes if isinstance(route, Route) and route.path == "/graphql"]
    endpoint = route.endpoint  # type: ignore[attr-defined]
    assert isinstance(endpoint, GraphQLEndpoint)
    return endpoint


def _documents(count: int) -> list[str]:
    """Distinct documents that need no database."""
    return [f"{{ d{i}: __typename }}" for i in range(count)]


def _customer(settings: Settings, user_id: int) -> dict[str, str]:
    token = mint_access_token(
        secret=signing_secret(settings), user_id=user_id, role=Role.CUSTOMER, ttl=timedelta(minutes=5)
    )
    return {**SPEC, "authorization": f"Bearer {token}"}


async def test_a_document_is_kept_for_the_ttl_and_a_worker_that_asks_for_it_starts_it_again(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    apq = settings.model_copy(update={"redis_key_prefix": redis_prefix, "apq_ttl_s": 120})
    key = f"{redis_prefix}apq:{sha256(QUERY)}"
    async with client_for(apq) as first, client_for(apq) as second:
        await first.post("/graphql", json=with_hash(QUERY), headers=SPEC)
        stored_ttl = await redis_client.ttl(key)
        # given a document about to expire
        await redis_client.expire(key, 5)
        # when a worker that does not hold it uses it
        hit = await second.post("/graphql", json=hash_only(QUERY), headers=SPEC)

    assert 0 < stored_ttl <= 120
    assert hit.status_code == 200
    assert await redis_client.ttl(key) > 5


async def test_a_worker_answers_the_documents_it_holds_and_refreshes_them_in_redis(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    apq = settings.model_copy(update={"redis_key_prefix": redis_prefix, "apq_ttl_s": 120})
    key = f"{redis_prefix}apq:{sha256(QUERY)}"
    app = create_app(apq)
    store = _endpoint(app).persisted.store
    async with serving(app) as worker, client_for(apq) as other:
        await worker.post("/graphql", json=with_hash(QUERY), headers=SPEC)
        # given the document gone from Redis
        await redis_client.delete(key)
        # the worker that holds it answers it; another worker misses
        held = await worker.post("/graphql", json=hash_only(QUERY), headers=SPEC)
        missed = await other.post("/graphql", json=hash_only(QUERY), headers=SPEC)
        # once its refresh is due, the worker asks Redis again: a document sent whole is stored
        # again, and a hit starts the TTL again
        store.refresh_s = 0
        await worker.post("/graphql", json=with_hash(QUERY), headers=SPEC)
        restored = await redis_client.get(key)
        await redis_client.expire(key, 5)
        refreshed = await worker.post("/graphql", json=hash_only(QUERY), headers=SPEC)

    assert held.status_code == refreshed.status_code == 200
    assert missed.status_code == 404
    assert restored == QUERY.encode()
    assert await redis_client.ttl(key) > 5


async def test_a_document_over_the_size_limit_is_answered_but_not_stored(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    apq = settings.model_copy(update={"redis_key_prefix": redis_prefix, "apq_max_document_bytes": 20})
    small, large = "{ __typename }", "{ a: __typename b: __typename }"
    with caplog.at_level(logging.INFO, logger=PERSISTED_LOGGER):
        async with client_for(apq) as client:
            answered = await client.post("/graphql", json=with_hash(large), headers=SPEC)
            await client.post("/graphql", json=with_hash(small), headers=SPEC)

    assert answered.status_code == 200 and answered.json()["data"] == {"a": "Query", "b": "Query"}
    assert await redis_client.get(f"{redis_prefix}apq:{sha256(large)}") is None
    assert await redis_client.get(f"{redis_prefix}apq:{sha256(small)}") == small.encode()
    (line,) = [r.getMessage() for r in caplog.records if r.name == PERSISTED_LOGGER]
    assert "not stored: 31 bytes, over APQ_MAX_DOCUMENT_BYTES (20)" in line


async def test_each_caller_stores_at_most_its_cap_of_new_documents_per_window(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    apq = settings.model_copy(
        update={
            "redis_key_prefix": redis_prefix,
            "apq_registrations_per_window": 2,
            "apq_registration_window_s": 600,
        }
    )
    first, second, third = _documents(3)
    with caplog.at_level(logging.INFO, logger=PERSISTED_LOGGER):
        async with client_for(apq) as client:
            # when one customer sends three new documents, and one of them again
            answers = [
                await client.post("/graphql", json=with_hash(document), headers=_customer(settings, 1001))
                for document in (first, second, first, third)
            ]
            # and another customer sends the third
            other = await client.post("/graphql", json=with_hash(third), headers=_customer(settings, 1002))

    # then every document is answered
    assert [a.status_code for a in answers] == [200, 200, 200, 200] and other.status_code == 200
    assert answers[3].json()["data"] == {"d2": "Query"}
    # the first customer stored two (sending a known document again counts for nothing); the
    # third is stored by the other customer, whose cap is its own
    stored = {d: await redis_client.get(f"{redis_prefix}apq:{sha256(d)}") for d in (first, second, third)}
    assert stored == {first: first.encode(), second: second.encode(), third: third.encode()}
    # the refusal is said in the log, not to the client
    (line,) = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
    assert f"persisted query {sha256(third)[:12]} not stored: user:1001 has stored 2 new documents" in line
    window = await redis_client.ttl(f"{redis_prefix}apq:registrations:user:1001")
    assert 0 < window <= 600


async def test_an_anonymous_caller_is_capped_by_its_address(
    settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    apq = settings.model_copy(update={"redis_key_prefix": redis_prefix, "apq_registrations_per_window": 1})
    first, second = _documents(2)
    async with client_for(apq) as client:
        for document in (first, second):
            assert (await client.post("/graphql", json=with_hash(document), headers=SPEC)).status_code == 200

    assert await redis_client.get(f"{redis_prefix}apq:{sha256(first)}") == first.encode()
    assert await redis_client.get(f"{redis_prefix}apq:{sha256(second)}") is None
    assert await redis_client.get(f"{redis_prefix}apq:registrations:anon:127.0.0.1") == b"2"


def _redis_upstream(redis_url: str) -> tuple[str, int] | str:
    url = urllib.parse.urlparse(redis_url)
    if url.scheme == "unix":
        return url.path
    return url.hostname or "127.0.0.1", url.port or 6379


@pytest.fixture
def redis_relay(services: dict[str, str]) -> Iterator[PostgresRelay]:
    """The tests' Redis behind a TCP relay the test can take away (the relay only pipes bytes: it is
    PostgreSQL's outage relay pointed at Redis)."""
    running = PostgresRelay("postgresql://unused@127.0.0.1/unused")
    running.upstream = _redis_upstream(services["redis_url"])
    running.start()
    try:
        yield running
    finally:
        running.close()


async def test_with_redis_away_unknown_hashes_miss_and_the_fallback_is_answered(
    settings: Settings,
    redis_relay: PostgresRelay,
    redis_prefix: str,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apq_store, "_last_down_log", -math.inf)  # an earlier outage's line was logged
    through_relay = f"redis://127.0.0.1:{redis_relay.port}/0"
    apq = settings.model_copy(update={"redis_key_prefix": redis_prefix, "redis_url": through_relay})
    other = "{ other: __typename }"
    with caplog.at_level(logging.WARNING, logger=PERSISTED_LOGGER):
        async with client_for(apq) as worker, client_for(apq) as fresh:
            assert (await worker.post("/graphql", json=with_hash(QUERY), headers=SPEC)).status_code == 200

            # when Redis goes away
            redis_relay.stop()
            held = await worker.post("/graphql", json=hash_only(QUERY), headers=SPEC)
            missed = await fresh.post("/graphql", json=hash_only(QUERY), headers=SPEC)
            fallback = await fresh.post("/graphql", json=with_hash(QUERY), headers=SPEC)
            registered = await fresh.post("/graphql", json=with_hash(other), headers=SPEC)
            batch = await fresh.post("/graphql", json=[hash_only(other), with_hash(other)], headers=SPEC)

            # and comes back
            redis_relay.start()
            # The Redis breaker (core/redis_breaker.py) lets a probe through once its cooldown is over:
            # until then a lookup still misses. Waited for, not timed.
            for _ in range(50):
                back = await fresh.post("/graphql", json=hash_only(QUERY), headers=SPEC)
                if back.status_code == 200:
                    break
                await asyncio.sleep(0.1)

    # then the worker that holds the document still runs it
    assert held.status_code == 200 and len(held.json()["data"]["merchantCategories"]) == 8
    # another's miss is one the client knows how to handle, never a 500
    assert missed.status_code == 404
    assert the_error(missed)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # and the document it sends then is answered, though it cannot be stored
    assert fallback.status_code == registered.status_code == 200
    assert fallback.json()["data"] == held.json()["data"]
    assert registered.json()["data"] == {"other": "Query"}
    assert await redis_client.get(f"{redis_prefix}apq:{sha256(other)}") is None
    missed_in_batch, answered_in_batch = batch.json()
    assert missed_in_batch["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert answered_in_batch["data"] == {"other": "Query"}
    # the stored document survived in Redis and is found again
    assert back.status_code == 200 and back.json()["data"] == held.json()["data"]
    # the log says why, in one line without a traceback
    warnings = [r for r in caplog.records if r.name == PERSISTED_LOGGER]
    assert warnings and all(not r.exc_info for r in warnings)
    assert "Redis unreachable" in warnings[0].getMessage()
