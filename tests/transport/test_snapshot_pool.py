"""The pool covers the concurrency it serves (issue 10): a request holds one connection at a time, so
8 clients on one worker with DB_POOL_SIZE=10 open no connection once the pool is warm, and every
request checks out exactly one connection, over the whole HTTP path (viewer, extensions, schema).

Before, each request held up to 4 connections at once (one per loader batch): at 8 clients the pool
overflowed and about one new PostgreSQL connection was opened per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from server import create_app
from tests.models import factories as f
from tests.schema.pool_use import pool_use, warm

CLIENTS = 8
ROUNDS = 5
# Two root fields (run concurrently) and a nested batch: three statements at once on one snapshot.
QUERY = """{ merchants(first: 20) { totalCount edges { node { name category { name } } } }
  merchantCategories { name } }"""


@asynccontextmanager
async def app_on(settings: Settings) -> AsyncIterator[SimpleNamespace]:
    """The app with its lifespan running (its pool: `engine`) and an httpx client on it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield SimpleNamespace(client=client, engine=state["engine"], sessionmaker=state["sessionmaker"])


@pytest.fixture
async def served(scratch_db_url: str, settings: Settings) -> AsyncIterator[SimpleNamespace]:
    # One worker's pool at its defaults: DB_POOL_SIZE=10, DB_MAX_OVERFLOW=10.
    # The pool's use is under test: every request must reach the database, none the response cache.
    configured = settings.model_copy(
        update={"database_url": scratch_db_url, "db_pool_size": 10, "response_cache": False}
    )
    async with app_on(configured) as served:
        async with served.sessionmaker() as session, session.begin():
            for _ in range(3):
                await f.make_merchant(session)
        served.secret = signing_secret(configured)
        yield served


def _bearer(served: SimpleNamespace, user_id: int) -> dict[str, str]:
    token = mint_access_token(
        secret=served.secret, user_id=user_id, role=Role.CUSTOMER, ttl=timedelta(minutes=5)
    )
    return {"authorization": f"Bearer {token}"}


async def test_eight_clients_on_one_worker_open_no_connection_once_the_pool_is_warm(
    served: SimpleNamespace,
) -> None:
    # given a pool that has opened as many connections as there are clients (what a warm-up leaves)
    await warm(served.engine, CLIENTS)
    headers = [_bearer(served, user_id) for user_id in range(1, CLIENTS + 1)]
    with pool_use(served.engine) as use:
        # when 8 clients (8 customers, so no caller's share caps them) send requests at once, 5 times
        for _ in range(ROUNDS):
            responses = await asyncio.gather(
                *(served.client.post("/graphql", json={"query": QUERY}, headers=h) for h in headers)
            )
            assert [r.status_code for r in responses] == [200] * CLIENTS
            # the errors themselves, so a failure under a loaded machine says which code it met
            assert [r.json().get("errors") for r in responses] == [None] * CLIENTS
    # then no connection was opened, each request checked out exactly one, at most one per client at once
    assert use.connects == 0
    assert use.checkouts == ROUNDS * CLIENTS
    assert use.peak <= CLIENTS
    assert use.held == 0


async def test_a_batch_runs_its_operations_one_after_another_one_connection_each(
    served: SimpleNamespace,
) -> None:
    batch = [{"query": QUERY}, {"query": QUERY}, {"query": "{ merchantCategories { name } }"}]
    with pool_use(served.engine) as use:
        response = await served.client.post("/graphql", json=batch, headers=_bearer(served, 1))
    assert response.status_code == 200
    assert all("errors" not in item for item in response.json())
    # one snapshot per operation, never two at once
    assert (use.checkouts, use.peak, use.held) == (3, 1, 0)
