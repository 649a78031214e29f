"""What subscribing and each delivered event cost a subscriber, drawn from the same Redis token bucket
as HTTP requests (core/ratelimit.py).

Subscribing costs the document's cost once, as a query of the same shape would; every event then
delivered costs SUBSCRIPTION_EVENT_COST_PERCENT of it. One event reaches many subscribers at once,
so their draws go to Redis in one script call (DRAW_EACH_SCRIPT): one command per event, not one per
subscriber. Redis away lets everything through, as it does for HTTP.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from core.errors import ApiError, ErrorCode
from core.ratelimit import Draw, TokenBucket
from core.settings import Settings

log = logging.getLogger("swipesavvy.ws")

# core/ratelimit.py's bucket (DRAW_SCRIPT), drawn for every key of KEYS at one reading of the clock;
# ARGV: capacity, refill per second, cost. Only refusals come back, as {index, tokens, retry} each:
# an event reaching a thousand subscribers with budget left is one command and an empty reply,
# where one DRAW_SCRIPT per subscriber cost the worker more than sending the event to them all.
# tests/transport/test_websocket_costs.py holds the two scripts to the same answers. (All keys in one
# script: fine on one Redis; a Redis Cluster would need them hashed to one slot.)
DRAW_EACH_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local needed = math.min(cost, capacity)
local refused = {}
for index, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if tokens >= needed then
    tokens = tokens - cost
  else
    refused[#refused + 1] = index
    refused[#refused + 1] = tostring(tokens)
    refused[#refused + 1] = tostring((needed - tokens) / rate)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', key, math.ceil((capacity - tokens) / rate) + 1)
end
return refused
"""
DRAW_EACH_SHA = hashlib.sha1(DRAW_EACH_SCRIPT.encode()).hexdigest()
# Keys per script call: Redis runs one script at a time, so a call is bounded to keep other
# clients' commands from waiting behind a large fan-out for long.
KEYS_PER_CALL = 1000


def bucket_of(settings: Settings, redis: Any) -> TokenBucket:
    return TokenBucket(
        redis,
        prefix=settings.redis_key_prefix,
        capacity=settings.rate_limit_bucket,
        refill_per_second=settings.rate_limit_refill_per_second,
    )


def event_cost(settings: Settings, document_cost: int) -> int:
    """What one delivered event costs, from the subscription document's cost."""
    return math.ceil(document_cost * settings.subscription_event_cost_percent / 100)


async def draw_each(bucket: TokenBucket, identities: Sequence[str], cost: int) -> list[Draw]:
    """Draw `cost` from each identity's bucket (in order, an identity listed twice pays twice)."""
    free = [Draw(allowed=True)] * len(identities)
    if cost <= 0 or bucket.redis is None or not identities:
        return free
    keys = [f"{bucket.prefix}ratelimit:{identity}" for identity in identities]
    chunks = [keys[i : i + KEYS_PER_CALL] for i in range(0, len(keys), KEYS_PER_CALL)]
    for attempt in range(2):
        try:
            async with bucket.redis.pipeline(transaction=False) as pipe:
                for chunk in chunks:
                    pipe.evalsha(
                        DRAW_EACH_SHA, len(chunk), *chunk, bucket.capacity, bucket.refill_per_second, cost
                    )
                replies = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            log.warning("event costs not drawn, Redis unreachable (%s): delivered unlimited", exc)
            return free
        if attempt == 0 and any(isinstance(reply, NoScriptError) for reply in replies):
            try:
                await bucket.redis.script_load(DRAW_EACH_SCRIPT)
            except (RedisError, OSError):
                return free
            continue
        draws = list(free)
        for offset, reply in zip(range(0, len(keys), KEYS_PER_CALL), replies, strict=True):
            if isinstance(reply, Exception):
                continue  # that chunk delivered unlimited, as when Redis is away
            for i in range(0, len(reply), 3):
                index, tokens, retry = reply[i : i + 3]
                draws[offset + int(index) - 1] = Draw(
                    allowed=False, available=float(tokens), retry_after_s=float(retry)
                )
        return draws
    return free


def rate_limited(draw: Draw, cost: int, *, what: str) -> ApiError:
    """RATE_LIMITED for a subscriber whose budget cannot pay `what` (subscribing, or an event)."""
    retry_after = draw.retry_after_header
    return ApiError(
        f"Rate limit exceeded: {what} costs {cost} and your budget has "
        f"{max(0, math.floor(draw.available or 0))}; retry in {retry_after} s.",
        code=ErrorCode.RATE_LIMITED,
        retryAfter=retry_after,
        cost=cost,
    )
