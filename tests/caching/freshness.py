"""What the freshness proofs share: one scratch database served twice over HTTP, with the response
cache on and with it off, and the check that a read after a write through the API is the fresh one.

    answers = await fresh_after(api, [Read(marketer, CAMPAIGN, {"id": gid})], write=lambda: ...)

reads each query twice with the cache on (the second must be a hit: the entry exists to be made
stale), runs the write, reads again, and asserts every answer after it equals the answer of the app
with the cache off, leaves that differ between two cache-off runs (the clock) masked.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry import relay

from core import database_admin as databases
from core.changes import ChangeDispatcher
from core.database import create_engine, create_sessionmaker
from core.response_invalidation import invalidation_for
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.urls import with_database
from core.viewer import Role
from jobs.ingest import fold_once
from schema import schema as api_schema
from tests.differential.answers import UNSTABLE, unstable_paths
from tests.models import factories as f
from tests.transport.client import client_for

Headers = dict[str, str]


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


@dataclass
class Api:
    """The same database behind two apps: `cached` (RESPONSE_CACHE on) and `fresh` (off)."""

    settings: Settings
    cached: httpx.AsyncClient
    fresh: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]

    def bearer(self, role: Role, *, user_id: int | None = None, merchant_id: int | None = None) -> Headers:
        token = mint_access_token(
            secret=signing_secret(self.settings),
            user_id=user_id,
            role=role,
            merchant_id=merchant_id,
            ttl=timedelta(minutes=30),
        )
        return {"authorization": f"Bearer {token}"}

    async def post(
        self, client: httpx.AsyncClient, headers: Headers, query: str, variables: dict[str, Any] | None
    ) -> httpx.Response:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        return response

    async def fold(self) -> None:
        """Count the pending campaign events as a job worker's fold does, its invalidation included."""
        client = aioredis.from_url(self.settings.redis_url or "")
        changes = ChangeDispatcher()
        invalidation = invalidation_for(self.settings, client)
        assert invalidation is not None
        changes.subscribe(invalidation)
        try:
            await fold_once(self.sessionmaker, changes, limit=100_000)
        finally:
            await client.aclose()

    async def write(self, headers: Headers, mutation: str, variables: dict[str, Any] | None = None) -> Any:
        """Run a mutation with the cache on; its single payload, which must carry no userErrors."""
        response = await self.post(self.cached, headers, mutation, variables)
        (payload,) = response.json()["data"].values()
        assert payload.get("userErrors", []) == [], response.text
        return payload


# Any mutation taking one `input` argument, answering only its userErrors.
MUTATION = "mutation ($input: {kind}) {{ {name}(input: $input) {{ userErrors {{ code }} }} }}"


def mutation(api: Api, headers: Headers, field: str, /, **values: Any) -> Callable[[], Awaitable[Any]]:
    """The write `field` with these input values, to run when called."""
    definition = api_schema._schema.mutation_type.fields[field]  # type: ignore[union-attr]
    document = MUTATION.format(name=field, kind=definition.args["input"].type)
    return lambda: api.write(headers, document, {"input": values})


@dataclass(frozen=True)
class Read:
    headers: Headers
    query: str
    variables: dict[str, Any] | None = None


@dataclass(frozen=True)
class Seen:
    data: Any
    cache: dict[str, Any]  # extensions.cache: hit, age, maxAge
    cache_control: str


async def read(api: Api, r: Read) -> Seen:
    response = await api.post(api.cached, r.headers, r.query, r.variables)
    body = response.json()
    return Seen(body["data"], body.get("extensions", {}).get("cache", {}), response.headers["cache-control"])


Path = tuple[Any, ...]


async def fresh_answer(api: Api, r: Read) -> tuple[Any, set[Path]]:
    """The answer with the cache off, and where two such answers disagree (the clock)."""
    first, again = [(await api.post(api.fresh, r.headers, r.query, r.variables)).json()["data"] for _ in "12"]
    return first, unstable_paths(orjson.dumps(first), orjson.dumps(again)) or set()


def masked(value: Any, paths: set[Path], path: Path = ()) -> Any:
    """`value` with the leaves at `paths` replaced by one marker."""
    if path in paths:
        return UNSTABLE
    if isinstance(value, dict):
        return {key: masked(item, paths, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item, paths, (*path, i)) for i, item in enumerate(value)]
    return value


async def assert_fresh(api: Api, r: Read, seen: Seen) -> None:
    """What the cached app answered is what the app without a cache answers now."""
    fresh, unstable = await fresh_answer(api, r)
    assert masked(seen.data, unstable) == masked(fresh, unstable), (
        f"stale (cache {seen.cache}):\n{r.query}\ncached: {seen.data}\nfresh:  {fresh}"
    )


async def fresh_after(
    api: Api, reads: list[Read], write: Callable[[], Awaitable[Any]]
) -> list[tuple[Any, Any]]:
    """Each read cached and hit, then `write`, then each read again equal to the cache-off answer;
    (before, after) data per read, for the caller to check that the change shows."""
    befores = []
    for r in reads:
        first = await read(api, r)
        assert first.cache.get("maxAge", 0) > 0, f"not kept, nothing to make stale: {first.cache}"
        second = await read(api, r)
        assert second.cache.get("hit") is True, f"the second read was not a hit: {second.cache}"
        befores.append(second.data)
    await write()
    pairs = []
    for r, before in zip(reads, befores, strict=True):
        after = await read(api, r)
        await assert_fresh(api, r, after)
        pairs.append((before, after.data))
    return pairs


async def rows(api: Api, make: Any, **values: Any) -> Any:
    """A row made by a factory and committed."""
    async with api.sessionmaker() as session, session.begin():
        return await make(session, **values)


async def person(api: Api, role: Role, **values: Any) -> tuple[int, Headers]:
    """A user of this role (committed) and their bearer token."""
    user = await rows(api, f.make_user, role=role.value, **values)
    return user.id, api.bearer(role, user_id=user.id, merchant_id=values.get("merchant_id"))


@pytest.fixture(scope="module", name="staff")
async def staff_fixture(api: Api) -> dict[str, Headers]:
    """An admin's and a marketer's bearer tokens."""
    return {"admin": (await person(api, Role.ADMIN))[1], "marketer": (await person(api, Role.MARKETER))[1]}


@pytest.fixture(scope="module", name="api")
async def api_fixture(
    server_url: str, template_db_url: str, test_db_names: dict[str, str], settings: Settings
) -> AsyncIterator[Api]:
    """One scratch database for the module (each test makes rows of its own) and a Redis prefix of its
    own, both gone afterwards."""
    name = f"{test_db_names['scratch_prefix']}fresh_{uuid.uuid4().hex[:8]}"
    await databases.create_database(server_url, name, template=make_url(template_db_url).database)
    prefix = f"test:{uuid.uuid4().hex}:"
    url = with_database(server_url, name)
    on = settings.model_copy(update={"database_url": url, "redis_key_prefix": prefix, "response_cache": True})
    engine = create_engine(url, on, pool_size=2)
    try:
        async with AsyncExitStack() as stack:
            cached = await stack.enter_async_context(client_for(on))
            fresh = await stack.enter_async_context(
                client_for(on.model_copy(update={"response_cache": False}))
            )
            yield Api(on, cached, fresh, create_sessionmaker(engine))
    finally:
        await engine.dispose()
        client = aioredis.from_url(on.redis_url or "")
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await databases.drop_database(server_url, name)
