"""The change feed on the tests' real Redis: what one process publishes after a commit, every process
hears, once, in version order, waking only the watches it concerns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from core.change_feed import ChangeFeed, FeedUnavailable
from core.changes import Changes
from core.redis import create_redis
from tests.transport.ws.world import DEADLINE_S

CAMPAIGN_7 = Changes(tables=frozenset({"campaigns"}), tags=frozenset({"campaigns", "campaigns.id=7"}))
CAMPAIGN_8 = Changes(tables=frozenset({"campaigns"}), tags=frozenset({"campaigns", "campaigns.id=8"}))
FLAG = Changes(tables=frozenset({"feature_flags"}), tags=frozenset({"feature_flags"}))


@pytest.fixture
async def feeds(services: dict[str, str], redis_prefix: str) -> AsyncIterator[tuple[ChangeFeed, ChangeFeed]]:
    """Two processes' feeds (a writer's and another's) on one Redis."""
    url = services["redis_url"]
    clients = [create_redis(url), create_redis(url)]
    started = [ChangeFeed(client, url=url, prefix=redis_prefix) for client in clients]
    for feed in started:
        await feed.start()
    try:
        yield started[0], started[1]
    finally:
        for feed in started:
            await feed.stop()
        for client in clients:
            await client.aclose()


async def test_a_commit_published_by_one_process_wakes_the_matching_watches_of_every_process(
    feeds: tuple[ChangeFeed, ChangeFeed],
) -> None:
    writer, other = feeds
    mine, elsewhere = writer.watch({"campaigns.id=7"}), other.watch({"campaigns.id=7"})
    unrelated = other.watch({"campaigns.id=9"})

    await writer.publish(CAMPAIGN_7)

    async with asyncio.timeout(DEADLINE_S):
        heard = [await mine.next(), await elsewhere.next()]
    # heard by the writer's own process and by the other, with the same version and the watched tag
    assert heard[0].version == heard[1].version > 0
    assert heard[0].tags == frozenset({"campaigns.id=7"}) and heard[0].tables == frozenset({"campaigns"})
    # and a watch on other rows was not woken
    await writer.publish(FLAG)
    async with asyncio.timeout(DEADLINE_S):
        while other.last_version < heard[0].version + 1:
            await asyncio.sleep(0.01)
    assert not unrelated._ready.is_set()


async def test_changes_heard_before_a_watch_looks_are_merged_into_one_wake_up(
    feeds: tuple[ChangeFeed, ChangeFeed],
) -> None:
    writer, other = feeds
    watch = other.watch({"campaigns.id=7", "campaigns.id=8"})
    await writer.publish(CAMPAIGN_7)
    await writer.publish(CAMPAIGN_8)
    async with asyncio.timeout(DEADLINE_S):
        while other.last_version < 2:
            await asyncio.sleep(0.01)

    merged = await watch.next()

    assert merged.version == other.last_version
    assert merged.tags == frozenset({"campaigns.id=7", "campaigns.id=8"})


async def test_a_message_older_than_the_last_heard_is_never_delivered(
    feeds: tuple[ChangeFeed, ChangeFeed],
) -> None:
    _writer, other = feeds
    watch = other.watch({"campaigns.id=7"})
    other.hear(b'5 {"tables":["campaigns"],"tags":["campaigns.id=7"]}')
    assert (await watch.next()).version == 5

    # a duplicate and an older version are dropped; garbage is ignored
    other.hear(b'5 {"tables":["campaigns"],"tags":["campaigns.id=7"]}')
    other.hear(b'4 {"tables":["campaigns"],"tags":["campaigns.id=7"]}')
    other.hear(b"not a change")
    assert not watch._ready.is_set()
    other.hear(b'6 {"tables":["campaigns"],"tags":["campaigns.id=7"]}')
    assert (await watch.next()).version == 6


async def test_without_redis_no_watch_is_given_and_publishing_does_not_fail(
    redis_prefix: str,
) -> None:
    unreachable = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    client = create_redis(unreachable)
    feed = ChangeFeed(client, url=unreachable, prefix=redis_prefix)
    try:
        await feed.publish(CAMPAIGN_7)  # logged, not raised: the write has committed
        with pytest.raises(FeedUnavailable):
            feed.watch({"campaigns.id=7"})
    finally:
        await feed.stop()
        await client.aclose()


async def test_the_version_counter_lives_under_the_prefix(
    feeds: tuple[ChangeFeed, ChangeFeed], redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    writer, _other = feeds
    await writer.publish(FLAG)
    await writer.publish(FLAG)
    assert int(await redis_client.get(f"{redis_prefix}changes:version")) == 2
