"""Cost-based rate limiting: one token bucket per identity in Redis, shared by every worker.

As in Shopify's API, a query's cost is drawn from a bucket that refills at a steady rate. The whole
draw (refill for the time elapsed, cap, take) is one Lua script, so concurrent requests of one
identity on any number of processes never both spend the same tokens, and the clock is Redis's own,
so workers with skewed clocks agree. If Redis is down the limiter lets requests through.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from core import metrics
from core.viewer import Viewer

log = logging.getLogger(__name__)

# Redis being down is logged at most this often per process, not once per request.
DOWN_LOG_INTERVAL_S = 60.0

# KEYS[1] the bucket; ARGV: capacity, refill per second, cost. Returns {allowed, tokens, retry after}.
# A cost above the capacity could never be paid: it is taken from a full bucket, which goes into
# debt, so the identity's average spend still never exceeds the refill rate.
# The key expires once it would have refilled anyway: a missing key is a full bucket.
DRAW_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local needed = math.min(cost, capacity)
local allowed = 0
local retry = 0
if tokens >= needed then
  tokens = tokens - cost
  allowed = 1
else
  retry = (needed - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1)
return {allowed, tostring(tokens), tostring(retry)}
"""
# EVALSHA sends only the digest; EVAL loads the script the first time a Redis has not seen it.
DRAW_SHA = hashlib.sha1(DRAW_SCRIPT.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Draw:
    """The outcome of drawing a request's cost; `available` is None when Redis could not be asked."""

    allowed: bool
    available: float | None = None
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> int:
        """Whole seconds for the Retry-After header (at least 1 when refused)."""
        return max(1, math.ceil(self.retry_after_s)) if not self.allowed else 0


def rate_limit_identity(viewer: Viewer, client_ip: str | None) -> str:
    """Whose budget: the user, else the API key's label, else the anonymous caller's IP."""
    if viewer.user_id is not None:
        return f"user:{viewer.user_id}"
    if viewer.is_authenticated:
        return viewer.label
    return f"anon:{client_ip or 'unknown'}"


class TokenBucket:
    """Buckets of `capacity` tokens refilled at `refill_per_second`, keyed under `prefix`."""

    def __init__(
        self, redis: aioredis.Redis | None, *, prefix: str, capacity: int, refill_per_second: float
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.capacity = capacity
        self.refill_per_second = refill_per_second

    async def draw(self, identity: str, cost: int) -> Draw:
        """Take `cost` tokens from the identity's bucket, or say how long until it can pay."""
        if self.redis is None:
            return Draw(allowed=True)
        arguments = (f"{self.prefix}ratelimit:{identity}", self.capacity, self.refill_per_second, cost)
        try:
            try:
                reply = await self.redis.evalsha(DRAW_SHA, 1, *arguments)
            except NoScriptError:
                reply = await self.redis.eval(DRAW_SCRIPT, 1, *arguments)
            allowed, tokens, retry = reply
        except (RedisError, OSError):
            metrics.REDIS_ERRORS.labels("rate_limit").inc()
            _log_down()
            return Draw(allowed=True)
        if not int(allowed):
            metrics.RATE_LIMIT_REFUSALS.labels("cost").inc()
        return Draw(allowed=bool(int(allowed)), available=float(tokens), retry_after_s=float(retry))


_last_down_log = -math.inf


def _log_down() -> None:
    global _last_down_log
    now = time.monotonic()
    if now - _last_down_log >= DOWN_LOG_INTERVAL_S:
        _last_down_log = now
        log.warning("rate limiter: Redis unreachable, requests are let through unlimited", exc_info=True)
