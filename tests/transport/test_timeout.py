"""The execution time limit: the request is cancelled (504, code TIMEOUT), and PostgreSQL cancels a
statement still running."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.settings import Settings
from server import create_app
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

QUERY = "{ merchantCategories { name } }"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_a_request_past_the_limit_is_cancelled(settings: Settings, accept: str) -> None:
    # Far less than one round trip to PostgreSQL: the limit always strikes during execution.
    quick = settings.model_copy(update={"request_timeout_s": 0.0001})
    async with client_for(quick) as client:
        response = await client.post("/graphql", json={"query": QUERY}, headers={"accept": accept})

    body = response.json()
    assert response.status_code == 504
    assert "data" not in body
    error = body["errors"][0]
    assert error["message"] == "The request took too long and was cancelled."
    assert error["extensions"]["code"] == "TIMEOUT"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_the_pool_connections_carry_the_statement_timeout(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"db_statement_timeout_ms": 50}))
    async with app.router.lifespan_context(app) as state:
        async with state["engine"].connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "50ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(1)"))
