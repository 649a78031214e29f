"""The response cache's Redis side on a real Redis: a write that commits while an answer is being
computed leaves no entry, and an invalidation lost to an outage kills every older entry once Redis
is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from core.redis import create_redis
from schema.caching.store import Lookup, ResponseStore
from tests.transport.outage import PostgresRelay


@pytest.fixture
def store(redis_client: aioredis.Redis, redis_prefix: str) -> ResponseStore:
    return ResponseStore(redis_client, prefix=redis_prefix, tag_memory_s=60)


async def test_an_entry_is_found_with_its_age_until_its_tags_change(store: ResponseStore) -> None:
    looked = await store.lookup("q")
    assert looked.entry is None and looked.seen is not None

    assert await store.store("q", b'{"a":1}', tags=["campaigns.id=1"], seen=looked.seen, max_age_s=30)
    found = await store.lookup("q")
    await store.invalidate(["campaigns.id=2"])
    still = await store.lookup("q")
    await store.invalidate(["campaigns.id=1"])
    gone = await store.lookup("q")

    assert found.entry is not None and found.entry.data == b'{"a":1}' and found.entry.max_age_s == 30
    assert still.entry is not None
    assert gone.entry is None


async def test_a_write_committed_while_computing_leaves_no_entry(store: ResponseStore) -> None:
    # the answer is looked up (a miss) and its reads begin
    looked = await store.lookup("q")
    assert looked.seen is not None
    # a write commits and is announced before the answer is stored: the answer may predate it
    await store.invalidate(["campaigns"])

    kept = await store.store("q", b"{}", tags=["campaigns"], seen=looked.seen, max_age_s=30)

    assert kept is False
    assert (await store.lookup("q")).entry is None
    # an answer made of other tables is kept
    assert await store.store("other", b"{}", tags=["merchants"], seen=looked.seen, max_age_s=30)


async def _answered(store: ResponseStore, key: str) -> Lookup:
    """The first lookup Redis answers (a store leaves Redis alone for a moment after a failure)."""
    deadline = time.monotonic() + 10
    while (found := await store.lookup(key)).seen is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return found


def _redis_relay(redis_url: str, server_url: str) -> PostgresRelay:
    """The tests' TCP relay, in front of Redis instead of PostgreSQL."""
    relay = PostgresRelay(server_url)
    if redis_url.startswith("unix://"):
        relay.upstream = redis_url.removeprefix("unix://").split("?", 1)[0]
    else:
        url = make_url(redis_url)
        relay.upstream = (url.host or "127.0.0.1", url.port or 6379)
    return relay


@pytest.fixture
def redis_relay(services: dict[str, str], server_url: str) -> Iterator[PostgresRelay]:
    relay = _redis_relay(services["redis_url"], server_url)
    relay.start()
    try:
        yield relay
    finally:
        relay.close()


@pytest.fixture
async def relayed(redis_relay: PostgresRelay) -> AsyncIterator[aioredis.Redis]:
    client = create_redis(f"redis://127.0.0.1:{redis_relay.port}/0")
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_lost_invalidation_kills_every_older_entry_once_redis_is_back(
    relayed: aioredis.Redis, redis_relay: PostgresRelay, store: ResponseStore, redis_prefix: str
) -> None:
    # this worker reaches Redis through the relay; another worker (`store`) directly
    worker = ResponseStore(relayed, prefix=redis_prefix, tag_memory_s=60)
    looked = await worker.lookup("q")
    assert looked.seen is not None
    assert await worker.store("q", b"{}", tags=["campaigns"], seen=looked.seen, max_age_s=60)

    redis_relay.stop()
    await worker.invalidate(["campaigns"])  # the write committed; its news could not be delivered
    down = await worker.lookup("q")
    redis_relay.start()
    back = await _answered(worker, "q")

    assert down.entry is None and down.seen is None  # Redis away: answered fresh, nothing kept
    assert back.entry is None  # the floor was raised before anything was trusted again
    assert (await store.lookup("q")).entry is None  # for every worker
    assert await worker.store("q", b"{}", tags=["campaigns"], seen=back.seen or 0, max_age_s=60)
    assert (await store.lookup("q")).entry is not None


async def test_redis_down_means_no_cache_and_no_failure(
    relayed: aioredis.Redis, redis_relay: PostgresRelay, redis_prefix: str
) -> None:
    worker = ResponseStore(relayed, prefix=redis_prefix, tag_memory_s=60)
    redis_relay.stop()

    looked = await worker.lookup("q")
    kept = await worker.store("q", b"{}", tags=["t"], seen=0, max_age_s=60)

    assert looked.entry is None and looked.seen is None
    assert kept is False
