"""Where automatic persisted queries are kept: Redis, so a document one worker stored is found by every
other, with each worker's own copies in front. Redis holds only what can be lost here: a document
it cannot give back is a miss, and the client sends the document again."""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from core.metrics_hooks import redis_failed

log = logging.getLogger("swipesavvy.persisted")

# Redis being away is logged at most this often per process, not once per request.
DOWN_LOG_INTERVAL_S = 60.0
# Documents each worker keeps in memory (text, by Python's own size of the string): at least 64 of
# the longest APQ_MAX_DOCUMENT_BYTES allows by default, thousands of a real client's.
LOCAL_BYTES = 4 * 1024 * 1024
# A worker holding a document asks Redis for it again at most this often (or a tenth of the TTL),
# so a document in use does not expire for the workers that do not hold it.
MAX_REFRESH_S = 60.0

# KEYS[1] the document, KEYS[2] the caller's count of new documents in the current window; ARGV: the
# document, its TTL, the cap, the window. Returns 0 when the document was known (its TTL starts
# again; nothing is counted), 1 when stored, 2 when the caller is past its cap (nothing stored).
# One script, so concurrent registrations on any number of workers never both slip under the cap.
REGISTER_SCRIPT = """
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 1 then
  return 0
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
if count > tonumber(ARGV[3]) then
  return 2
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
REGISTER_SHA = hashlib.sha1(REGISTER_SCRIPT.encode()).hexdigest()


class Registration(enum.Enum):
    KNOWN = 0
    STORED = 1
    OVER_CAP = 2
    FAILED = 3


def digest(document: str) -> str:
    """The SHA-256 hex digest Apollo's persisted-query protocol names a document by."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Known:
    document: str
    # When this worker last had Redis start the document's TTL again (time.monotonic()).
    touched_at: float


class DocumentStore:
    """Documents by their SHA-256 hex digest under `prefix`apq:, each kept `ttl_s` after its last use.

    A document is named by its own digest, so a copy can never go stale: each worker also keeps the
    documents it has seen in memory (least recently used out past LOCAL_BYTES) and answers them
    without a round trip, asking Redis again only every `refresh_s` per document, which starts the
    TTL again for the other workers. Redis away, a worker still runs what it holds.
    """

    def __init__(self, *, prefix: str, ttl_s: int, cap: int, window_s: int) -> None:
        self.prefix = f"{prefix}apq:"
        self.ttl_s = ttl_s
        self.cap = cap
        self.window_s = window_s
        self.refresh_s = min(ttl_s / 10, MAX_REFRESH_S)
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._known_bytes = 0

    def key(self, sha256_hash: str) -> str:
        return f"{self.prefix}{sha256_hash}"

    async def find(self, redis: aioredis.Redis | None, sha256_hash: str) -> str | None:
        """The document of this digest, or None (unknown, or Redis could not be asked)."""
        known = self._recall(sha256_hash)
        if known is not None and time.monotonic() - known.touched_at < self.refresh_s:
            return known.document
        found = await self._fetch(redis, sha256_hash)
        if found is not None:
            self._remember(sha256_hash, found)
            return found
        if known is not None:
            known.touched_at = time.monotonic()  # Redis lost it or is away: ask again later
            return known.document
        return None

    async def register(
        self, redis: aioredis.Redis | None, sha256_hash: str, document: str, *, identity: str
    ) -> Registration:
        """Store a verified document, unless the caller has stored its cap of new ones this window."""
        known = self._recall(sha256_hash)
        if known is not None and time.monotonic() - known.touched_at < self.refresh_s:
            return Registration.KNOWN
        if redis is None:
            return Registration.FAILED
        arguments = (
            self.key(sha256_hash),
            f"{self.prefix}registrations:{identity}",
            document,
            self.ttl_s,
            self.cap,
            self.window_s,
        )
        try:
            try:
                reply = await redis.evalsha(REGISTER_SHA, 2, *arguments)
            except NoScriptError:
                reply = await redis.eval(REGISTER_SCRIPT, 2, *arguments)
        except (RedisError, OSError) as exc:
            _log_down(exc, "documents are answered but not stored")
            return Registration.FAILED
        outcome = Registration(int(reply))
        if outcome in (Registration.KNOWN, Registration.STORED):
            self._remember(sha256_hash, document)
        return outcome

    async def _fetch(self, redis: aioredis.Redis | None, sha256_hash: str) -> str | None:
        if redis is None:
            return None
        try:
            # GETEX: one round trip reads the document and starts its TTL again.
            found = await redis.getex(self.key(sha256_hash), ex=self.ttl_s)
        except (RedisError, OSError) as exc:
            _log_down(exc, "documents this worker has not seen miss, clients send them whole")
            return None
        if found is None:
            return None
        document = found.decode("utf-8") if isinstance(found, bytes) else str(found)
        # Only verified documents are stored; a key written by anything else is not believed.
        return document if digest(document) == sha256_hash else None

    def _recall(self, sha256_hash: str) -> _Known | None:
        known = self._known.get(sha256_hash)
        if known is not None:
            self._known.move_to_end(sha256_hash)
        return known

    def _remember(self, sha256_hash: str, document: str) -> None:
        if sha256_hash in self._known:
            self._known[sha256_hash].touched_at = time.monotonic()
            return
        self._known[sha256_hash] = _Known(document, time.monotonic())
        self._known_bytes += sys.getsizeof(document)
        while self._known_bytes > LOCAL_BYTES and len(self._known) > 1:
            _, evicted = self._known.popitem(last=False)
            self._known_bytes -= sys.getsizeof(evicted.document)


_last_down_log = -math.inf


def _log_down(exc: Exception, consequence: str) -> None:
    global _last_down_log
    redis_failed("apq")
    now = time.monotonic()
    if now - _last_down_log >= DOWN_LOG_INTERVAL_S:
        _last_down_log = now
        log.warning("persisted queries: Redis unreachable (%s): %s", type(exc).__name__, consequence)
