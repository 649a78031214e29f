"""Every response in development carries the SQL cost of the request."""

from __future__ import annotations

import httpx

from core.settings import AppEnv, Settings
from tests.transport.client import client_for

QUERY = "{ merchantCategories { name } }"


async def _post(settings: Settings, query: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with client_for(settings) as client:
        return await client.post("/graphql", json={"query": query}, headers=headers or {})


async def test_development_responses_count_sql_statements(settings: Settings) -> None:
    response = await _post(
        settings.model_copy(
            update={"app_env": AppEnv.DEVELOPMENT, "sql_stats": None, "response_cache": False}
        ),
        QUERY,
    )
    extensions = response.json()["extensions"]
    # An anonymous read sets its shorter statement timeout (SET LOCAL), then reads.
    assert extensions["sqlStatements"] == 2
    assert extensions["sqlMs"] >= 0


async def test_production_responses_hide_sql_cost_unless_enabled(settings: Settings) -> None:
    prod = settings.model_copy(
        # statements are counted when they run: no answer may come from the response cache
        update={
            "app_env": AppEnv.PRODUCTION,
            "sql_stats": None,
            "jwt_secret": "x" * 32,
            "response_cache": False,
        }
    )
    assert "sqlStatements" not in (await _post(prod, QUERY)).json().get("extensions", {})
    enabled = prod.model_copy(update={"sql_stats": True})
    assert (await _post(enabled, QUERY)).json()["extensions"]["sqlStatements"] == 2


async def test_a_forged_token_is_refused_with_401_and_a_code(settings: Settings) -> None:
    response = await _post(settings, QUERY, headers={"authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["requestId"]
