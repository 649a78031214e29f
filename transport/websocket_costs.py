"""What subscribing and each delivered event cost a subscriber, drawn from the same Redis token bucket
as HTTP requests (core/ratelimit.py).

Subscribing costs the document's cost once, as a query of the same shape would; every event then
delivered costs SUBSCRIPTION_EVENT_COST_PERCENT of it. One event reaches many subscribers at once,
so their draws go to Redis in one pipeline: one round trip per event, not one per subscriber. Redis
away lets everything through, as it does for HTTP.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from core.errors import ApiError, ErrorCode
from core.ratelimit import DRAW_SCRIPT, DRAW_SHA, Draw, TokenBucket
from core.settings import Settings

log = logging.getLogger("swipesavvy.ws")


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
    for attempt in range(2):
        try:
            async with bucket.redis.pipeline(transaction=False) as pipe:
                for identity in identities:
                    key = f"{bucket.prefix}ratelimit:{identity}"
                    pipe.evalsha(DRAW_SHA, 1, key, bucket.capacity, bucket.refill_per_second, cost)
                replies = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            log.warning("event costs not drawn, Redis unreachable (%s): delivered unlimited", exc)
            return free
        if attempt == 0 and any(isinstance(reply, NoScriptError) for reply in replies):
            try:
                await bucket.redis.script_load(DRAW_SCRIPT)
            except (RedisError, OSError):
                return free
            continue
        return [_draw(reply) for reply in replies]
    return free


def _draw(reply: Any) -> Draw:
    if isinstance(reply, Exception):
        return Draw(allowed=True)
    allowed, tokens, retry = reply
    return Draw(allowed=bool(int(allowed)), available=float(tokens), retry_after_s=float(retry))


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
