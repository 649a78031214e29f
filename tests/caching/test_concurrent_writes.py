"""Readers and writers of one campaign at once: no write leaves a stale entry behind (issue 11, part 3).

Each round runs readers (the cache on) and writers (renames and budget changes through the API) of one
campaign together on a real pool; once the round is over, the cached answer must be the fresh one. A
reader whose snapshot predates a write that commits before the reader stores its answer computed
stale data: its store must be refused (schema/caching/store.py), which the extension reports as an
answer not kept. Such refusals are counted (the race was run, not only survived). A store that
ignores when the write came (the control test below) leaves stale entries in the same rounds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry import relay

from core.context import RequestContext
from core.database import create_engine, create_sessionmaker
from core.services import Services
from core.settings import Settings
from core.viewer import Role, Viewer
from schema import schema as api
from schema.caching.cache import ResponseCache, response_cache_for
from schema.caching.store import ResponseStore
from tests.models import factories as f

READ = "query ($id: ID!) { campaign(id: $id) { name budget merchant { name } } }"
RENAME = """
mutation ($id: ID!, $name: String!, $budget: Decimal!) {
  updateCampaign(input: {id: $id, name: $name, budget: $budget}) { userErrors { code } }
}
"""
ROUNDS = 30
READERS, WRITERS = 6, 2


@dataclass
class Tally:
    reads: int = 0
    hits: int = 0
    refused: int = 0  # cacheable answers without errors that were not kept: a tag changed meanwhile
    stale: list[tuple[int, Any, Any]] = field(default_factory=list)  # (round, cached, fresh)


@pytest.fixture
async def sessionmaker(
    scratch_db_url: str, settings: Settings
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(
        scratch_db_url, settings.model_copy(update={"db_max_overflow": 20}), pool_size=READERS + WRITERS
    )
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    marketer: Viewer
    campaign: str


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> World:
    async with sessionmaker() as session, session.begin():
        marketer = await f.make_user(session, role="marketer")
        merchant = await f.make_merchant(session, name="Blue Bottle")
        campaign = await f.make_campaign(session, name="Round 0", merchant_id=merchant.id)
    viewer = Viewer(role=Role.MARKETER, user_id=marketer.id)
    return World(sessionmaker, settings, viewer, relay.to_base64("Campaign", campaign.id))


def _services(
    settings: Settings, client: aioredis.Redis, prefix: str, store: type[ResponseStore]
) -> Services:
    made = response_cache_for(api._schema, settings.model_copy(update={"redis_key_prefix": prefix}), client)
    assert made is not None
    kept = store(made.store.client, prefix=made.store.prefix, tag_memory_s=made.store.tag_memory_s)
    cache = ResponseCache(
        api._schema, kept, max_age_cap_s=made.max_age_cap_s, max_entry_bytes=made.max_entry_bytes
    )
    services = Services(responses=cache)
    services.changes.subscribe(cache.on_changes)
    return services


async def _execute(world: World, services: Services, document: str, variables: dict[str, Any]) -> Any:
    context = RequestContext(
        request=None,
        settings=world.settings,
        sessionmaker=world.sessionmaker,
        write_sessionmaker=world.sessionmaker,
        redis=None,
        viewer=world.marketer,
        request_id=uuid.uuid4().hex,
        client_ip="127.0.0.1",
        services=services,
    )
    result = await api.execute(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return result


def _data(result: Any) -> Any:
    data = result.data
    return orjson.loads(orjson.dumps(data)) if isinstance(data, orjson.Fragment) else data


def _reading(n: int, r: int) -> str:
    """The read of reader `r` in round `n`: the same query, under a key of its own (a comment is part of
    the document's text), so every reader of a round misses and computes while the writers commit."""
    return f"{READ}# round {n}, reader {r}\n"


async def _rounds(world: World, services: Services) -> Tally:
    tally = Tally()
    campaign = {"id": world.campaign}

    async def reader(document: str) -> None:
        result = await _execute(world, services, document, campaign)
        report = (result.extensions or {}).get("cache", {})
        tally.reads += 1
        tally.hits += report.get("hit") is True
        tally.refused += report.get("hit") is False and report.get("maxAge") == 0

    async def writer(n: int, w: int) -> None:
        variables = {"id": world.campaign, "name": f"Round {n}.{w}", "budget": f"{n * 10 + w}.00"}
        await _execute(world, services, RENAME, variables)

    for n in range(1, ROUNDS + 1):
        documents = [_reading(n, r) for r in range(READERS)]
        async with asyncio.TaskGroup() as group:
            for r, document in enumerate(documents):
                group.create_task(reader(document))
                if r < WRITERS:
                    group.create_task(writer(n, r))
        # Once all have finished: whatever each reader left in the cache is what is true now.
        fresh = _data(await _execute(world, Services(), READ, campaign))
        # (Read twice: the first read of a refused answer keeps it now, the second is served from it.)
        for document in documents * 2:
            cached = await _execute(world, services, document, campaign)
            tally.hits += (cached.extensions or {}).get("cache", {}).get("hit") is True
            if _data(cached) != fresh:
                tally.stale.append((n, _data(cached), fresh))
    return tally


async def test_no_write_committing_mid_request_leaves_a_stale_entry(
    world: World, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    services = _services(world.settings, redis_client, redis_prefix, ResponseStore)

    tally = await _rounds(world, services)

    print(f"\n{ROUNDS} rounds: {tally.reads} racing reads, {tally.refused} of their answers refused")
    print(f"{tally.hits} hits afterwards")
    assert tally.stale == [], (
        f"{len(tally.stale)} stale answers; the first (round, cached, fresh): {tally.stale[0]}"
    )
    assert tally.hits > 0, "nothing was ever served from the cache"
    assert tally.refused > 0, "no store ever raced a write: the race was not run"


class CarelessStore(ResponseStore):
    """A deliberately broken store: it keeps an answer whatever was invalidated meanwhile."""

    async def store(self, key: str, data: bytes, *, tags: Iterable[str], seen: int, max_age_s: int) -> bool:
        return await super().store(key, data, tags=tags, seen=2**62, max_age_s=max_age_s)


async def test_a_store_that_ignores_writes_meanwhile_leaves_stale_entries(
    world: World, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    """The proof can fail: the same rounds over a store without the check find stale entries."""
    services = _services(world.settings, redis_client, redis_prefix, CarelessStore)

    tally = await _rounds(world, services)

    rounds = {n for n, _, _ in tally.stale}
    print(f"\n{len(tally.stale)} stale answers in {len(rounds)} of {ROUNDS} rounds")
    assert tally.stale
