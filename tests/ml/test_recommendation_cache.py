"""Users' recommended merchants cached in Redis: served again from it, dropped when a committed write
changes what they were made of (never on a rollback), not stored in the quiet period after a drop,
never shown to a viewer who may not see them, computed fresh when Redis is down.

Cached answers are told apart from fresh ones by changing the rows with plain SQL, which nobody
announces: a cached read still shows the old score, a fresh one the new."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text, update
from strawberry import relay

from core.changes import Changes
from core.context import RequestContext
from core.redis import create_redis
from core.services import Services
from core.settings import Settings
from core.viewer import Role, Viewer
from loaders.ml import RecommendedMerchantsByUserLoader
from models.merchants import Merchant
from resolvers.ml.recommendation_cache import RecommendationCache
from tests.models import factories as f

SERVICE = Viewer(role=Role.SERVICE)
DOWN_REDIS_URL = "redis://127.0.0.1:9/0"
MINE = "query { me { recommendedMerchants(first: 2) { affinityScore merchant { name rating updatedAt } } } }"
UPSERT = """
mutation ($input: UpsertMerchantAffinitiesInput!) {
  upsertMerchantAffinities(input: $input) { upsertedCount userErrors { code } }
}
"""


@dataclass
class World:
    alice: int
    bob: int
    shop: int


def _gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def _customer(user_id: int) -> Viewer:
    return Viewer(role=Role.CUSTOMER, user_id=user_id)


@pytest.fixture
async def world(live) -> World:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        alice, bob = await f.make_user(session), await f.make_user(session)
        shop = await f.make_merchant(session, name="Corner Shop", rating=Decimal("4.50"))
        other = await f.make_merchant(session, name="Other Shop")
        for user, score in ((alice, 0.5), (bob, 0.25)):
            await f.make_user_merchant_affinity(
                session, user_id=user.id, merchant_id=shop.id, affinity_score=score
            )
            await f.make_user_merchant_affinity(
                session, user_id=user.id, merchant_id=other.id, affinity_score=0.1
            )
        return World(alice=alice.id, bob=bob.id, shop=shop.id)


async def _services(settings: Settings, redis: aioredis.Redis, prefix: str) -> Services:
    cache = RecommendationCache(
        redis=redis, settings=settings.model_copy(update={"redis_key_prefix": prefix})
    )
    services = Services(recommendations=cache)
    services.changes.subscribe(cache.on_changes)
    return services


@pytest.fixture
async def cached(settings: Settings, redis_client: aioredis.Redis, redis_prefix: str) -> Services:
    return await _services(settings, redis_client, redis_prefix)


@pytest.fixture
async def redis_down(settings: Settings, redis_prefix: str) -> AsyncIterator[Services]:
    client = create_redis(DOWN_REDIS_URL)
    try:
        yield await _services(settings, client, redis_prefix)
    finally:
        await client.aclose()


async def _top(live, services: Services, user_id: int) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    result = await live.execute(MINE, viewer=_customer(user_id), services=services)
    assert result.errors is None, result.errors
    return [(r["merchant"]["name"], r["affinityScore"]) for r in result.data["me"]["recommendedMerchants"]]


async def _score_in_sql(live, user_id: int, score: float) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE user_merchant_affinity SET affinity_score = :s"
                " WHERE user_id = :u AND affinity_score > 0.2"
            ),
            {"s": score, "u": user_id},
        )


def _context(live, settings: Settings, services: Services, viewer: Viewer) -> RequestContext:  # type: ignore[no-untyped-def]
    return RequestContext(
        request=None,
        settings=settings,
        sessionmaker=live.sessionmaker,
        write_sessionmaker=live.sessionmaker,
        redis=None,
        viewer=viewer,
        services=services,
    )


async def test_a_second_read_is_served_from_the_cache(live, world: World, cached: Services) -> None:  # type: ignore[no-untyped-def]
    # given the first read (computed, every column as the database path gives it)
    first = await _top(live, cached, world.alice)
    uncached = await live.execute(MINE, viewer=_customer(world.alice), services=Services())
    assert (await live.execute(MINE, viewer=_customer(world.alice), services=cached)).data == uncached.data

    # when the score changes in SQL, unannounced
    await _score_in_sql(live, world.alice, 0.75)

    # then the next reads still answer from the cache
    assert await _top(live, cached, world.alice) == first == [("Corner Shop", 0.5), ("Other Shop", 0.1)]


async def test_an_upsert_through_the_api_drops_the_entry(live, world: World, cached: Services) -> None:  # type: ignore[no-untyped-def]
    await _top(live, cached, world.alice)
    scores = [
        {
            "userId": _gid("User", world.alice),
            "merchantId": _gid("Merchant", world.shop),
            "affinityScore": 0.9,
        }
    ]

    result = await live.execute(UPSERT, {"input": {"scores": scores}}, viewer=SERVICE, services=cached)

    assert result.data["upsertMerchantAffinities"] == {"upsertedCount": 1, "userErrors": []}
    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.9), ("Other Shop", 0.1)]


async def test_a_rolled_back_write_drops_nothing_and_a_committed_one_does(  # type: ignore[no-untyped-def]
    live, settings: Settings, world: World, cached: Services
) -> None:
    # given a cached entry, and its score changed unannounced
    await _top(live, cached, world.alice)
    await _score_in_sql(live, world.alice, 0.75)
    context = _context(live, settings, cached, SERVICE)

    # when a write of the merchants rolls back, the entry stays
    with pytest.raises(RuntimeError):
        async with context.write_session() as session:
            await session.execute(update(Merchant).where(Merchant.id == world.shop).values(total_reviews=3))
            raise RuntimeError("rolled back")
    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.5), ("Other Shop", 0.1)]

    # and when it commits, every user's entry is dropped (a merchant is part of everyone's)
    async with context.write_session() as session:
        await session.execute(update(Merchant).where(Merchant.id == world.shop).values(total_reviews=3))
    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.75), ("Other Shop", 0.1)]


async def test_a_keyed_change_drops_only_that_users_entries(live, world: World, cached: Services) -> None:  # type: ignore[no-untyped-def]
    await _top(live, cached, world.alice)
    await _top(live, cached, world.bob)
    await _score_in_sql(live, world.alice, 0.75)
    await _score_in_sql(live, world.bob, 0.8)

    await cached.changes.dispatch(
        Changes(
            tables=frozenset({"user_merchant_affinity"}),
            tags=frozenset({"user_merchant_affinity", f"user_merchant_affinity.user_id={world.alice}"}),
        )
    )

    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.75), ("Other Shop", 0.1)]
    assert await _top(live, cached, world.bob) == [("Corner Shop", 0.25), ("Other Shop", 0.1)]


async def test_nothing_is_stored_in_the_quiet_period_after_a_drop(
    live, world: World, cached: Services
) -> None:  # type: ignore[no-untyped-def]
    # given a drop of alice's entries (a read that began before it could still be computing)
    await cached.recommendations.forget_users({world.alice})

    # when alice reads, then her score changes unannounced
    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.5), ("Other Shop", 0.1)]
    await _score_in_sql(live, world.alice, 0.75)

    # then her next read is fresh: the first was not kept
    assert await _top(live, cached, world.alice) == [("Corner Shop", 0.75), ("Other Shop", 0.1)]


async def test_a_cached_entry_never_reaches_a_viewer_who_may_not_see_it(  # type: ignore[no-untyped-def]
    live, settings: Settings, world: World, cached: Services
) -> None:
    # given alice's recommendations cached
    assert await _top(live, cached, world.alice)

    # when bob's loader is asked for alice's, then he gets what the SQL gives him: nothing
    context = _context(live, settings, cached, _customer(world.bob))
    try:
        assert await RecommendedMerchantsByUserLoader(context).load((world.alice, 2)) == []
    finally:
        await context.close()


async def test_with_redis_down_recommendations_are_computed_fresh(
    live, world: World, redis_down: Services
) -> None:  # type: ignore[no-untyped-def]
    assert await _top(live, redis_down, world.alice) == [("Corner Shop", 0.5), ("Other Shop", 0.1)]
    await _score_in_sql(live, world.alice, 0.75)
    scores = [
        {"userId": _gid("User", world.bob), "merchantId": _gid("Merchant", world.shop), "affinityScore": 0.3}
    ]

    # a write's drop cannot reach Redis: the write still succeeds
    result = await live.execute(UPSERT, {"input": {"scores": scores}}, viewer=SERVICE, services=redis_down)

    assert result.errors is None and result.data["upsertMerchantAffinities"]["userErrors"] == []
    assert await _top(live, redis_down, world.alice) == [("Corner Shop", 0.75), ("Other Shop", 0.1)]
