"""The HTTP surface of the foundation: health, readiness and one real GraphQL query."""

from __future__ import annotations

from cli import build_parser
from core.settings import AppEnv, Settings
from tests.transport.client import client_for

CATEGORIES_QUERY = "{ merchantCategories { name colorCode } }"
# Nothing listens on port 1: connecting fails at once.
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/nowhere"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


async def test_healthz_answers_without_dependencies(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"database_url": UNREACHABLE_DATABASE})) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_with_postgres_and_redis(settings: Settings) -> None:
    async with client_for(settings) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_when_postgres_is_unreachable(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"database_url": UNREACHABLE_DATABASE})) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["postgres"] == "down"


async def test_readyz_stays_200_but_degraded_when_redis_is_down(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"redis_url": UNREACHABLE_REDIS})) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "postgres": "ok", "redis": "down"}


async def test_graphql_answers_a_query_from_the_database(settings: Settings) -> None:
    async with client_for(settings) as client:
        response = await client.post("/graphql", json={"query": CATEGORIES_QUERY})
    body = response.json()
    assert response.status_code == 200, body
    names = [c["name"] for c in body["data"]["merchantCategories"]]
    # the eight reference categories of the seed audit, loaded by a migration, sorted by name
    assert len(names) == 8
    assert names == sorted(names)
    assert {"name": "Restaurants & Cafes", "colorCode": "#FF6B6B"} in body["data"]["merchantCategories"]


async def test_graphiql_is_served_in_development(settings: Settings) -> None:
    dev = settings.model_copy(update={"app_env": AppEnv.DEVELOPMENT, "graphiql": None})
    async with client_for(dev) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_command_line_lists_its_commands() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "migrate", "seed"} <= set(commands)
