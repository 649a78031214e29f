"""Cost-based rate limiting with a token bucket in the real Redis."""

from __future__ import annotations

import asyncio
import logging
import math

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from core import ratelimit
from core.ratelimit import TokenBucket
from core.redis import create_redis
from core.settings import Settings
from core.viewer import Role, Viewer
from tests.limits.support import codes, run

# Ten fields and nothing else: costs 10 and needs no database.
COSTS_TEN = "{ " + " ".join(f"a{i}: __typename" for i in range(10)) + " }"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _limited(settings: Settings, prefix: str, *, bucket: int, refill: float) -> Settings:
    return settings.model_copy(
        update={
            "redis_key_prefix": prefix,
            "rate_limit_bucket": bucket,
            "rate_limit_refill_per_second": refill,
        }
    )


async def test_the_cost_is_drawn_until_the_bucket_cannot_pay(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 25 that barely refills
    limited = _limited(settings, redis_prefix, bucket=25, refill=0.01)
    # when three queries costing 10 arrive
    first = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    second = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    response = Response()
    third = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, response=response)
    # then the first two are served and report what is left
    assert first.errors is None and second.errors is None
    assert first.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == 15  # type: ignore[index]
    assert second.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == 5  # type: ignore[index]
    # and the third is refused with how long to wait: (10 - 5) / 0.01 s
    assert third.data is None
    assert codes(third) == ["RATE_LIMITED"]
    retry_after = third.errors[0].extensions["retryAfter"]  # type: ignore[index]
    assert 490 <= retry_after <= 500
    assert response.headers["retry-after"] == str(retry_after)
    assert third.extensions["cost"] == {  # type: ignore[index]
        "requestedQueryCost": 10,
        "maxCost": limited.graphql_max_cost,
        "throttleStatus": {"maximumAvailable": 25, "currentlyAvailable": 5, "restoreRate": 0.01},
    }


async def test_the_bucket_refills_over_time(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 10 refilling 100 per second, emptied by one query
    limited = _limited(settings, redis_prefix, bucket=10, refill=100.0)
    assert (await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)).errors is None
    refused = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    assert codes(refused) == ["RATE_LIMITED"]
    # when a tenth of a second (and a margin) has passed
    await asyncio.sleep(0.15)
    # then the bucket can pay again
    served = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    assert served.errors is None


async def test_identities_have_their_own_buckets(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 10 emptied by user 1
    limited = _limited(settings, redis_prefix, bucket=10, refill=0.01)
    one, two = Viewer(role=Role.CUSTOMER, user_id=1), Viewer(role=Role.CUSTOMER, user_id=2)
    await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, viewer=one)
    # then user 1 is limited, while user 2 and an anonymous caller from some IP are not
    again = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, viewer=one)
    other_user = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, viewer=two)
    anonymous = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, client_ip="198.51.100.7")
    assert codes(again) == ["RATE_LIMITED"]
    assert other_user.errors is None
    assert anonymous.errors is None
    # and anonymous callers are told apart by their IP
    same_ip = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client, client_ip="198.51.100.7")
    assert codes(same_ip) == ["RATE_LIMITED"]


async def test_a_query_refused_as_too_complex_costs_no_budget(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    limited = _limited(settings, redis_prefix, bucket=10, refill=0.01).model_copy(
        update={"graphql_max_cost": 5}
    )
    refused = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    assert codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")] == []


async def test_a_query_dearer_than_the_bucket_runs_on_a_full_bucket_and_leaves_a_debt(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 4, smaller than the query's cost
    limited = _limited(settings, redis_prefix, bucket=4, refill=0.01)
    # when the query arrives on a full bucket, then it runs and the bucket owes 6
    served = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    assert served.errors is None
    assert served.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == -6  # type: ignore[index]
    # and the next one waits for the debt and a full bucket: (4 + 6) / 0.01 s
    refused = await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)
    assert codes(refused) == ["RATE_LIMITED"]
    assert 990 <= refused.errors[0].extensions["retryAfter"] <= 1000  # type: ignore[index]


async def test_concurrent_draws_never_spend_the_same_tokens(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 100 (no meaningful refill), when 30 draws of 10 race
    bucket = TokenBucket(redis_client, prefix=redis_prefix, capacity=100, refill_per_second=0.001)
    draws = await asyncio.gather(*(bucket.draw("user:1", 10) for _ in range(30)))
    # then exactly ten are allowed
    assert sum(d.allowed for d in draws) == 10


async def test_the_bucket_key_expires_once_it_would_be_full(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    bucket = TokenBucket(redis_client, prefix=redis_prefix, capacity=100, refill_per_second=10.0)
    await bucket.draw("user:1", 50)
    ttl = await redis_client.ttl(f"{redis_prefix}ratelimit:user:1")
    assert 0 < ttl <= math.ceil(50 / 10.0) + 1


async def test_with_redis_down_requests_are_let_through_and_logged_once(
    db: AsyncSession, settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Redis that cannot be reached (and no recent warning)
    monkeypatch.setattr(ratelimit, "_last_down_log", -math.inf)
    down = create_redis(UNREACHABLE_REDIS)
    limited = settings.model_copy(update={"rate_limit_bucket": 1})
    try:
        with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
            # when two queries that the bucket could never pay arrive
            results = [await run(COSTS_TEN, db=db, settings=limited, redis=down) for _ in range(2)]
    finally:
        await down.aclose()
    # then both are served, the budget is reported unknown, and the outage is logged once
    assert [r.errors for r in results] == [None, None]
    throttle = results[0].extensions["cost"]["throttleStatus"]  # type: ignore[index]
    assert throttle == {"maximumAvailable": 1, "currentlyAvailable": None, "restoreRate": 500.0}
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1


async def test_every_response_reports_its_cost(db: AsyncSession, settings: Settings) -> None:
    # without Redis (the gql default), for a served query and for one refused by validation
    served = await run("{ __typename }", db=db, settings=settings)
    invalid = await run("{ flagz }", db=db, settings=settings)
    assert served.extensions["cost"]["requestedQueryCost"] == 1  # type: ignore[index]
    assert served.extensions["cost"]["maxCost"] == settings.graphql_max_cost  # type: ignore[index]
    # a document refused by validation is never costed, but pays the charge of a failed document
    failed_cost = settings.rate_limit_failed_document_cost
    assert invalid.extensions["cost"]["requestedQueryCost"] == failed_cost  # type: ignore[index]


async def test_a_redis_that_lost_its_scripts_is_sent_the_script_again(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a Redis whose script cache was flushed (a restart, a failover)
    bucket = TokenBucket(redis_client, prefix=redis_prefix, capacity=10, refill_per_second=0.001)
    await redis_client.script_flush()
    # when a draw is made, then it is answered (and not let through as if Redis were down)
    draw = await bucket.draw("user:1", 4)
    assert draw.allowed
    assert draw.available is not None and 5.9 < draw.available <= 6.0


async def test_documents_that_fail_parsing_or_validation_are_charged(
    db: AsyncSession, settings: Settings, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a bucket of 120 that barely refills, and a charge of 50 for a document that cannot run
    limited = _limited(settings, redis_prefix, bucket=120, refill=0.01).model_copy(
        update={"rate_limit_failed_document_cost": 50}
    )
    # when a document that fails validation and one that fails parsing arrive
    invalid = await run("{ flagz }", db=db, settings=limited, redis=redis_client)
    unparsable = await run("{ users(", db=db, settings=limited, redis=redis_client)
    # then each is answered with its own error, and each paid the charge
    assert "RATE_LIMITED" not in codes(invalid) and "RATE_LIMITED" not in codes(unparsable)
    assert invalid.extensions["cost"]["requestedQueryCost"] == 50  # type: ignore[index]
    assert invalid.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == 70  # type: ignore[index]
    assert unparsable.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == 20  # type: ignore[index]
    # and once the bucket cannot pay, the next failing document is refused as rate limited
    response = Response()
    refused = await run("{ flagz }", db=db, settings=limited, redis=redis_client, response=response)
    assert codes(refused) == ["RATE_LIMITED"]
    assert refused.errors[0].extensions["requestId"] == "limits-test"  # type: ignore[index]
    assert int(response.headers["retry-after"]) >= 1
    # while a valid query costing less than what is left still runs
    assert codes(await run(COSTS_TEN, db=db, settings=limited, redis=redis_client)) == []
