"""Every commit's changes, heard by every worker: one Redis pub/sub channel, and the watches that
subscriptions keep on it.

After a commit the change dispatcher (core/changes.py) hands the feed what the transaction changed;
the feed publishes it on `<prefix>changes` with a version from `<prefix>changes:version`, both in one
Lua script, so versions reach every listener in increasing order. Every worker, the writer included,
hears the channel on a connection of its own and wakes the watches whose tags the change names;
nothing is delivered from the writer's memory, so each change reaches each watch exactly once, and a
message whose version is not newer than the last one heard is dropped.

A watch holds what it heard since its owner last looked, merged (the newest version, the union of its
tags): subscriptions re-read what they show, so one wake-up for several commits loses nothing and a
slow reader holds one pending change, not a queue.

Redis away: publishing logs it and gives up for a moment (the write has committed; nobody could hear
it anyway), and listening marks the feed unavailable and fails every watch, whose subscription then
ends with SERVICE_UNAVAILABLE. The listener connects again with a backoff; subscriptions made once it
has are served again (README, "Subscriptions").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.changes import Changes
from core.metrics_hooks import redis_available, redis_failed
from core.redis import SOCKET_TIMEOUT_S

log = logging.getLogger(__name__)

CHANNEL = "changes"
VERSION_KEY = "changes:version"
# KEYS: the version counter, the channel; ARGV[1]: the change as JSON. One script, so no other
# publisher can take a version between this one's INCR and its PUBLISH.
PUBLISH_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], version .. ' ' .. ARGV[1])
return version
"""
# The listener pings this often, and takes Redis for gone after this long without a word from it.
PING_INTERVAL_S = 5.0
SILENCE_LIMIT_S = 3 * PING_INTERVAL_S
RETRY_FIRST_S, RETRY_MAX_S = 0.25, 5.0
# After a failed publish the next ones are skipped this long: each write would wait for its timeout.
PUBLISH_PAUSE_S = 1.0
# start() waits this long for the listener's first subscription before serving anyway.
START_WAIT_S = 3.0
UNAVAILABLE = "Live updates are unavailable (Redis cannot be reached): resubscribe shortly."


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """What a watch heard: the newest version, and the changed tables and watched tags since."""

    version: int
    tables: frozenset[str]
    tags: frozenset[str]


class FeedUnavailable(Exception):
    """Redis cannot be reached: changes cannot be heard."""

    def __init__(self) -> None:
        super().__init__(UNAVAILABLE)


class Watch:
    """One subscription's interest in a set of tags."""

    def __init__(self, feed: ChangeFeed, tags: frozenset[str]) -> None:
        self.feed = feed
        self.tags = tags
        self._version = 0
        self._tables: set[str] = set()
        self._heard: set[str] = set()
        self._ready = asyncio.Event()
        self._failed = False

    def offer(self, event: ChangeEvent) -> None:
        if event.version <= self._version:
            return
        self._version = event.version
        self._tables |= event.tables
        self._heard |= event.tags & self.tags
        self._ready.set()

    def fail(self) -> None:
        self._failed = True
        self._ready.set()

    async def next(self) -> ChangeEvent:
        """What was heard since the last call, waiting for it; FeedUnavailable once Redis is gone."""
        await self._ready.wait()
        if self._failed:
            raise FeedUnavailable()
        self._ready.clear()
        event = ChangeEvent(self._version, frozenset(self._tables), frozenset(self._heard))
        self._tables, self._heard = set(), set()
        return event

    def close(self) -> None:
        self.feed.forget(self)


class ChangeFeed:
    """The process's side of the channel: publishes its own commits, hears everyone's."""

    def __init__(self, redis: aioredis.Redis, *, url: str, prefix: str) -> None:
        self.url = url
        self.channel = f"{prefix}{CHANNEL}"
        self.version_key = f"{prefix}{VERSION_KEY}"
        self._publish = redis.register_script(PUBLISH_SCRIPT)
        self._by_tag: dict[str, set[Watch]] = {}
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until = -math.inf
        # The version of the newest change heard on the current connection.
        self.last_version = 0

    @property
    def available(self) -> bool:
        return self._up.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="change-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), START_WAIT_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._down()

    async def wait_available(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout_s)
        return self.available

    def watch(self, tags: Iterable[str]) -> Watch:
        """A watch woken by every change naming one of `tags`; FeedUnavailable while Redis is away."""
        if not self.available:
            raise FeedUnavailable()
        watch = Watch(self, frozenset(tags))
        for tag in watch.tags:
            self._by_tag.setdefault(tag, set()).add(watch)
        return watch

    def forget(self, watch: Watch) -> None:
        for tag in watch.tags:
            watchers = self._by_tag.get(tag)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._by_tag[tag]

    @property
    def watches(self) -> int:
        return len({w for watchers in self._by_tag.values() for w in watchers})

    async def publish(self, changes: Changes) -> None:
        """The change dispatcher's subscriber: put a committed transaction's changes on the channel."""
        if time.monotonic() < self._paused_until:
            return
        body = orjson.dumps({"tables": sorted(changes.tables), "tags": sorted(changes.tags)})
        try:
            await self._publish(keys=[self.version_key, self.channel], args=[body])
        except (RedisError, OSError) as exc:
            redis_failed("change_feed")
            self._paused_until = time.monotonic() + PUBLISH_PAUSE_S
            log.warning("change feed: could not publish a commit's changes (%s)", exc)

    def hear(self, data: bytes) -> None:
        """One message of the channel: wake each watch it concerns, once."""
        version_text, _, body = data.partition(b" ")
        try:
            version = int(version_text)
            parsed = orjson.loads(body)
            tables, tags = frozenset(parsed["tables"]), frozenset(parsed["tags"])
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            log.warning("change feed: ignored a message that is not a change")
            return
        if version <= self.last_version:
            return
        self.last_version = version
        woken: set[Watch] = set()
        for tag in tags:
            woken.update(self._by_tag.get(tag, ()))
        event = ChangeEvent(version, tables, tags)
        for watch in woken:
            watch.offer(event)

    async def _listen(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=SOCKET_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S
            )
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                await self._hear_until_lost(pubsub)
            except (RedisError, OSError, TimeoutError) as exc:
                redis_failed("change_feed")
                if self.available:
                    log.warning("change feed: lost Redis (%s); live subscriptions end", exc)
                    delay = RETRY_FIRST_S
            finally:
                self._down()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _hear_until_lost(self, pubsub: aioredis.client.PubSub) -> None:
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=PING_INTERVAL_S)
            now = time.monotonic()
            if message is not None:
                heard = now
                kind = message.get("type")
                if kind == "message":
                    self.hear(message["data"])
                elif kind == "subscribe" and not self._up.is_set():
                    self.last_version = 0  # Redis may have restarted: its counter with it
                    self._up.set()
                    redis_available("change_feed", True)
                    log.info("change feed: listening on %s", self.channel)
            if now - pinged >= PING_INTERVAL_S:
                await pubsub.ping()
                pinged = now
            if now - heard > SILENCE_LIMIT_S:
                raise TimeoutError(f"no reply from Redis in {SILENCE_LIMIT_S:.0f} s")

    def _down(self) -> None:
        self._up.clear()
        redis_available("change_feed", False)
        failed = {w for watchers in self._by_tag.values() for w in watchers}
        self._by_tag.clear()
        for watch in failed:
            watch.fail()
