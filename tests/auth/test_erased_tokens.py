"""Access tokens of an erased account stop working at once, not at expiry; the check costs tokens of
live users no SQL (one Redis EXISTS), and reads PostgreSQL only while Redis is down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import event
from sqlalchemy.engine import Engine

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.users import User
from resolvers.auth.revocations import remember_erasure
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
ANYTHING = "{ __typename }"
ERASE = "mutation { deleteMyAccount(input: {confirm: true}) { erasedUserId userErrors { code } } }"


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement this process runs while the test does."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


async def _customer(database_url: str, settings: Settings) -> dict[str, str]:
    engine = create_engine(database_url, settings, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(email="erin@example.com", name="Erin", role="customer")
        session.add(user)
        await session.flush()
        user_id = user.id
    await engine.dispose()
    token = mint_access_token(
        secret=signing_secret(settings), user_id=user_id, role=Role.CUSTOMER, ttl=timedelta(minutes=15)
    )
    return {**SPEC, "authorization": f"Bearer {token}", "x-user-id": str(user_id)}


def _dead_redis_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


def _refused(response: httpx.Response) -> bool:
    codes = [error["extensions"]["code"] for error in response.json().get("errors", [])]
    return response.status_code == 401 and codes == ["UNAUTHENTICATED"]


async def test_a_live_users_token_costs_no_sql(
    settings: Settings, scratch_db_url: str, redis_prefix: str, statements: list[str]
) -> None:
    app_settings = settings.model_copy(
        update={"database_url": scratch_db_url, "redis_key_prefix": redis_prefix}
    )
    headers = await _customer(scratch_db_url, settings)
    async with client_for(app_settings) as client:
        statements.clear()
        response = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)

    assert response.status_code == 200
    assert statements == []


async def test_a_recorded_erasure_refuses_the_token_without_sql(
    settings: Settings,
    scratch_db_url: str,
    redis_client: aioredis.Redis,
    redis_prefix: str,
    statements: list[str],
) -> None:
    app_settings = settings.model_copy(
        update={"database_url": scratch_db_url, "redis_key_prefix": redis_prefix}
    )
    headers = await _customer(scratch_db_url, settings)
    async with client_for(app_settings) as client:
        before = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)
        assert await remember_erasure(redis_client, app_settings, user_id=int(headers["x-user-id"]))
        statements.clear()
        after = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)

    assert before.status_code == 200
    assert _refused(after)
    assert statements == []
    ttl = await redis_client.ttl(f"{redis_prefix}erased-user:{headers['x-user-id']}")
    assert settings.access_token_ttl_minutes * 60 < ttl <= settings.access_token_ttl_minutes * 60 + 60


async def test_erasing_an_account_refuses_its_tokens_at_once(
    settings: Settings, scratch_db_url: str, redis_prefix: str
) -> None:
    app_settings = settings.model_copy(
        update={"database_url": scratch_db_url, "redis_key_prefix": redis_prefix}
    )
    headers = await _customer(scratch_db_url, settings)
    async with client_for(app_settings) as client:
        erased = await client.post("/graphql", json={"query": ERASE}, headers=headers)
        after = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)

    assert erased.json()["data"]["deleteMyAccount"]["userErrors"] == []
    assert _refused(after)


async def test_with_redis_down_the_erasure_is_read_from_postgresql(
    settings: Settings, scratch_db_url: str, statements: list[str]
) -> None:
    app_settings = settings.model_copy(
        update={"database_url": scratch_db_url, "redis_url": _dead_redis_url()}
    )
    headers = await _customer(scratch_db_url, settings)
    async with client_for(app_settings) as client:
        live = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)
        erased = await client.post("/graphql", json={"query": ERASE}, headers=headers)
        statements.clear()
        after = await client.post("/graphql", json={"query": ANYTHING}, headers=headers)

    assert live.status_code == 200
    assert erased.json()["data"]["deleteMyAccount"]["userErrors"] == []
    assert _refused(after)
    # one primary-key lookup of the user, the price of checking without Redis
    assert len(statements) == 1 and "users" in statements[0]
