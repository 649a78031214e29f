"""Schemathesis in GraphQL mode against a live server with an admin token: generated queries and
mutations for every root field, a few examples each; no answer may be a 5xx."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
import schemathesis
from graphql import get_introspection_query, graphql_sync
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from schemathesis.graphql import nodes, scalar
from sqlalchemy.engine import make_url

from bench.harness import live_server
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from schema import schema as api

EXAMPLES_PER_OPERATION = 3

# Strategies for the custom scalars (schemathesis knows only the built-in ones).
scalar("Date", st.dates().map(lambda d: nodes.String(d.isoformat())))
scalar("DateTime", st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: nodes.String(d.isoformat())))
scalar("Decimal", st.decimals(-(10**6), 10**6, places=2, allow_nan=False).map(lambda d: nodes.String(str(d))))
scalar("JSON", st.just(nodes.Object([])))
scalar("_Any", st.just(nodes.Object([])))


def _fuzz(
    operation, client: httpx.Client, headers: dict[str, str], failures: list[str], statuses: list[int]
) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @examples(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case) -> None:  # type: ignore[no-untyped-def]
        response = client.post("/graphql", json={"query": case.body}, headers=headers)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")

    call()


async def _admin_id(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        return int(
            await conn.fetchval(
                "INSERT INTO users (email, name, role)"
                " VALUES ('fuzz@example.com', 'Fuzz', 'admin') RETURNING id"
            )
        )
    finally:
        await conn.close()


def test_generated_operations_never_get_a_server_error(
    settings: Settings, scratch_db_url: str, services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", services["redis_url"])
    admin = asyncio.run(_admin_id(scratch_db_url))
    token = mint_access_token(
        secret=signing_secret(settings), user_id=admin, role=Role.ADMIN, ttl=dt.timedelta(hours=1)
    )
    headers = {"authorization": f"Bearer {token}"}
    loaded = schemathesis.graphql.from_dict(graphql_sync(api._schema, get_introspection_query()).data)
    operations = [op.ok() for op in loaded.get_all_operations()]
    assert len(operations) > 50
    failures: list[str] = []
    statuses: list[int] = []

    with live_server(scratch_db_url) as base, httpx.Client(base_url=base, timeout=30) as client:
        for operation in operations:
            _fuzz(operation, client, headers, failures, statuses)

    assert failures == []
    # every operation was really exercised, and mostly answered (not refused wholesale)
    assert len(statuses) >= len(operations)
    assert statuses.count(200) > len(statuses) // 2
