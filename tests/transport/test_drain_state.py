"""The drain as the app sees it, in process: /readyz and the response headers once a worker drains,
and the defaults of the drain settings in each environment (the live signals: test_drain.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.types import Receive, Scope, Send

from core.drain import Drain
from core.settings import AppEnv, Settings
from server import create_app


@asynccontextmanager
async def _draining(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Drain]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        assert state is not None

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, state["drain"]


async def test_a_draining_worker_is_not_ready_but_serves(settings: Settings) -> None:
    async with _draining(settings) as (client, drain):
        before = await client.get("/readyz")
        drain.begin("SIGTERM received")
        readiness = await client.get("/readyz")
        alive = await client.get("/healthz")
        answer = await client.post("/graphql", json={"query": "{ __typename }"})

    assert (before.status_code, "connection" in before.headers) == (200, False)
    assert readiness.status_code == 503
    assert readiness.json() == {"status": "draining", "reason": "SIGTERM received"}
    assert alive.status_code == 200  # a liveness probe must not restart a draining worker
    assert (answer.status_code, answer.json()["data"]) == (200, {"__typename": "Query"})
    assert answer.headers["connection"] == "close"


def test_the_drain_defaults_are_short_except_in_production(settings: Settings) -> None:
    local = settings.model_copy(update={"app_env": AppEnv.DEVELOPMENT, "job_shutdown_grace_s": None})
    production = settings.model_copy(update={"app_env": AppEnv.PRODUCTION, "job_shutdown_grace_s": None})
    own = production.model_copy(update={"drain_grace_s": 7.0, "job_shutdown_grace_s": 90.0})

    assert (local.drain_ready_delay, local.drain_grace, local.job_grace) == (0.0, 5.0, 5.0)
    assert (production.drain_ready_delay, production.drain_grace, production.job_grace) == (5.0, 20.0, 20.0)
    assert (own.drain_grace, own.job_grace) == (7.0, 90.0)
