"""Where automatic persisted queries are kept: Redis, so a document one worker stored is found by every
other. Redis holds only what can be lost here: a document it cannot give back is a miss, and the
client sends the document again."""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import time

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

log = logging.getLogger("swipesavvy.persisted")

# Redis being away is logged at most this often per process, not once per request.
DOWN_LOG_INTERVAL_S = 60.0

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


class DocumentStore:
    """Documents by their SHA-256 hex digest under `prefix`apq:, each kept `ttl_s` after its last use."""

    def __init__(self, *, prefix: str, ttl_s: int, cap: int, window_s: int) -> None:
        self.prefix = f"{prefix}apq:"
        self.ttl_s = ttl_s
        self.cap = cap
        self.window_s = window_s

    def key(self, sha256_hash: str) -> str:
        return f"{self.prefix}{sha256_hash}"

    async def find(self, redis: aioredis.Redis | None, sha256_hash: str) -> str | None:
        """The document of this digest, or None (unknown, or Redis could not be asked)."""
        if redis is None:
            return None
        try:
            # GETEX: one round trip reads the document and starts its TTL again.
            found = await redis.getex(self.key(sha256_hash), ex=self.ttl_s)
        except (RedisError, OSError) as exc:
            _log_down(exc, "lookups miss, clients send their documents whole")
            return None
        if found is None:
            return None
        return found.decode("utf-8") if isinstance(found, bytes) else str(found)

    async def register(
        self, redis: aioredis.Redis | None, sha256_hash: str, document: str, *, identity: str
    ) -> Registration:
        """Store a verified document, unless the caller has stored its cap of new ones this window."""
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
        return Registration(int(reply))


_last_down_log = -math.inf


def _log_down(exc: Exception, consequence: str) -> None:
    global _last_down_log
    now = time.monotonic()
    if now - _last_down_log >= DOWN_LOG_INTERVAL_S:
        _last_down_log = now
        log.warning("persisted queries: Redis unreachable (%s): %s", type(exc).__name__, consequence)
