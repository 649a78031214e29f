"""The response cache's Redis side: entries, the tags they were made of, and invalidation.

In core, not schema/caching, because invalidating needs no schema: a job worker (jobs/worker.py)
drops the entries its commits made stale as a server does (core/response_invalidation.py).

Keys, entries under a prefix naming the schema and the database (schema/caching/cache.py
`namespace`), the rest under `tags_prefix`, naming the database only, so that a process without the
schema can invalidate (`tags_prefix` defaults to `prefix`):

    {t}seq        a counter: every invalidation takes the next number
    {t}floor      entries made before this number are dead (after a lost invalidation)
    {p}e:<key>    an entry: "<seq>:<stored at, ms>:<max age>:" and the answer's JSON
    {t}i:<tag>    the number of the tag's last invalidation (kept as long as a request can run)
    {t}k:<tag>    the keys of the entries made of the tag

A request reads the counter when it looks its answer up (one MGET: entry, counter, floor), before
its read snapshot exists. Storing is one script that refuses when any of the answer's tags was
invalidated after that number: a write that committed while the answer was being computed (its
snapshot may predate the commit) leaves no entry behind. Invalidation is one script too: a new
number on every tag, and the tags' entries deleted. Both run inside Redis, so no interleaving of a
store and an invalidation leaves a stale entry.

Redis down: lookups miss, stores are skipped, and an invalidation that could not be delivered
raises the floor as soon as Redis answers again, killing every entry made before it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.metrics_hooks import redis_failed

log = logging.getLogger("swipesavvy.cache")

# How long Redis is left alone after a failure, and how often its absence is logged.
AWAY_S = 1.0
WARNING_INTERVAL_S = 10.0

_STORE = """
local n = tonumber(ARGV[4])
local seen = tonumber(ARGV[1])
for i = 1, n do
  local at = redis.call('GET', KEYS[1 + i])
  if at and tonumber(at) > seen then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 1, n do
  local index = KEYS[1 + n + i]
  redis.call('SADD', index, KEYS[1])
  if redis.call('TTL', index) < ttl then redis.call('EXPIRE', index, ttl) end
end
return 1
"""

_INVALIDATE = """
local n = tonumber(ARGV[1])
local number = redis.call('INCR', KEYS[1])
for i = 1, n do
  redis.call('SET', KEYS[1 + i], number, 'EX', ARGV[2])
  local index = KEYS[1 + n + i]
  local members = redis.call('SMEMBERS', index)
  for first = 1, #members, 500 do
    redis.call('DEL', unpack(members, first, math.min(first + 499, #members)))
  end
  redis.call('DEL', index)
end
return number
"""

_RAISE_FLOOR = """
local number = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], number)
return number
"""


@dataclass(frozen=True, slots=True)
class Entry:
    data: bytes
    age_s: int
    max_age_s: int


@dataclass(frozen=True, slots=True)
class Lookup:
    entry: Entry | None
    # The invalidation number the answer would be computed after; None: Redis did not answer, so
    # nothing may be stored.
    seen: int | None


MISSED = Lookup(entry=None, seen=None)


class ResponseStore:
    def __init__(
        self, client: aioredis.Redis, *, prefix: str, tag_memory_s: int, tags_prefix: str | None = None
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.tags_prefix = prefix if tags_prefix is None else tags_prefix
        # How long a tag's invalidation number is kept: longer than any request can run.
        self.tag_memory_s = tag_memory_s
        self._store = client.register_script(_STORE)
        self._invalidate = client.register_script(_INVALIDATE)
        self._raise_floor = client.register_script(_RAISE_FLOOR)
        # An invalidation was lost (Redis did not answer): raise the floor before trusting any entry.
        self._lost = False
        # After a failure Redis is left alone for a moment: a Redis that hangs would otherwise cost
        # every request its socket timeout, twice.
        self._away_until = 0.0
        self._last_warning = -math.inf

    def _away(self) -> bool:
        return time.monotonic() < self._away_until

    def _failed(self, doing: str, exc: BaseException) -> None:
        redis_failed("response_cache")
        now = time.monotonic()
        self._away_until = now + AWAY_S
        if now - self._last_warning >= WARNING_INTERVAL_S:
            self._last_warning = now
            log.warning("response cache unavailable (%s): %s", doing, exc)

    def _entry_key(self, key: str) -> str:
        return f"{self.prefix}e:{key}"

    async def lookup(self, key: str) -> Lookup:
        if self._away():
            return MISSED
        try:
            if self._lost:
                await self._recover()
            raw, seq, floor = await self.client.mget(
                self._entry_key(key), self.tags_prefix + "seq", self.tags_prefix + "floor"
            )
        except (RedisError, OSError) as exc:
            self._failed("answering fresh", exc)
            return MISSED
        seen = int(seq or 0)
        if raw is None:
            return Lookup(entry=None, seen=seen)
        made_after, stored_ms, max_age, data = raw.split(b":", 3)
        if int(made_after) < int(floor or 0):
            return Lookup(entry=None, seen=seen)
        age = max(0, int(time.time() * 1000 - int(stored_ms)) // 1000)
        return Lookup(entry=Entry(data=data, age_s=age, max_age_s=int(max_age)), seen=seen)

    async def store(self, key: str, data: bytes, *, tags: Iterable[str], seen: int, max_age_s: int) -> bool:
        """Keep `data` for `max_age_s` unless one of `tags` was invalidated after `seen`."""
        listed = sorted(set(tags))
        header = f"{seen}:{int(time.time() * 1000)}:{max_age_s}:".encode()
        keys = [
            self._entry_key(key),
            *(f"{self.tags_prefix}i:{t}" for t in listed),
            *(f"{self.tags_prefix}k:{t}" for t in listed),
        ]
        if self._away():
            return False
        try:
            stored = await self._store(keys=keys, args=[seen, max_age_s, header + data, len(listed)])
        except (RedisError, OSError) as exc:
            self._failed("answer not kept", exc)
            return False
        return bool(stored)

    async def invalidate(self, tags: Iterable[str]) -> None:
        listed = sorted(set(tags))
        if not listed:
            return
        keys = [
            self.tags_prefix + "seq",
            *(f"{self.tags_prefix}i:{t}" for t in listed),
            *(f"{self.tags_prefix}k:{t}" for t in listed),
        ]
        try:
            if self._away():
                raise ConnectionError("Redis failed a moment ago")
            if self._lost:
                # A process that never looks up (a job worker) raises the floor here instead.
                await self._recover()
            await self._invalidate(keys=keys, args=[len(listed), self.tag_memory_s])
        except (RedisError, OSError) as exc:
            # The write committed; its entries may still be in Redis. Until the floor is raised no
            # entry is trusted: `lookup` raises it first thing once Redis answers.
            self._lost = True
            self._failed("an invalidation is lost: every entry is dropped on recovery", exc)

    async def _recover(self) -> None:
        await self._raise_floor(keys=[self.tags_prefix + "seq", self.tags_prefix + "floor"])
        self._lost = False
        log.info("response cache recovered: entries made before now are dropped")
