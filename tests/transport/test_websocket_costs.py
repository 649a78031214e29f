"""The event charge of many subscribers in one script (transport/websocket_costs.py) against the
bucket of HTTP requests (core/ratelimit.py): the same answers for the same draws, on a real Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from core.ratelimit import TokenBucket
from transport.websocket_costs import KEYS_PER_CALL, draw_each

CAPACITY, COST = 10, 4
# Refill so slow that the moments of two draws a few milliseconds apart change nothing.
REFILL = 0.0001


def _bucket(redis: aioredis.Redis, prefix: str) -> TokenBucket:
    return TokenBucket(redis, prefix=prefix, capacity=CAPACITY, refill_per_second=REFILL)


async def test_drawing_for_many_at_once_answers_as_drawing_one_at_a_time(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given identities, some listed more than once (each listing pays), one already short
    identities = ["a", "b", "a", "c", "a", "b"]
    each, one_by_one = (
        _bucket(redis_client, f"{redis_prefix}each:"),
        _bucket(redis_client, f"{redis_prefix}one:"),
    )
    for bucket in (each, one_by_one):
        assert (await bucket.draw("c", 8)).allowed

    # when the event's cost is drawn for all of them at once, and one at a time elsewhere
    together = await draw_each(each, identities, COST)
    apart = [await one_by_one.draw(identity, COST) for identity in identities]

    # then the same draws are allowed and refused, the refused with the same budget and wait
    assert (
        [d.allowed for d in together] == [d.allowed for d in apart] == [True, True, True, False, False, True]
    )
    for mine, theirs in zip(together, apart, strict=True):
        if not theirs.allowed:
            assert mine.available == pytest.approx(theirs.available, abs=0.01)
            assert mine.retry_after_s == pytest.approx(theirs.retry_after_s, rel=0.01)
            assert mine.retry_after_header == theirs.retry_after_header
    # and the buckets are left alike
    for identity in ("a", "b", "c"):
        left = [
            float(await redis_client.hget(f"{prefix}ratelimit:{identity}", "tokens") or "nan")
            for prefix in (each.prefix, one_by_one.prefix)
        ]
        assert left[0] == pytest.approx(left[1], abs=0.01), identity


async def test_more_identities_than_one_call_takes_are_drawn_in_several(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    bucket = _bucket(redis_client, redis_prefix)
    # given one identity that can pay twice, listed past the end of the first call's keys
    identities = [f"u{n}" for n in range(KEYS_PER_CALL)] + ["twice"] * 3

    draws = await draw_each(bucket, identities, COST)

    # then every other identity paid once, and the third draw of the last one was refused
    assert all(d.allowed for d in draws[: KEYS_PER_CALL + 2])
    assert not draws[-1].allowed and draws[-1].available == pytest.approx(CAPACITY - 2 * COST, abs=0.01)


async def test_nothing_is_drawn_when_the_event_is_free(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    bucket = _bucket(redis_client, redis_prefix)
    assert all(d.allowed for d in await draw_each(bucket, ["a"] * 5, 0))
    assert await redis_client.exists(f"{redis_prefix}ratelimit:a") == 0
