"""PostgreSQL away: every answer is coded SERVICE_UNAVAILABLE with a message of ours (never the
driver's text or SQL), is 503 with Retry-After under the spec's media type (200 under
application/json) and has no data entry; a query is retried once first, a mutation never; the
idempotency path answers the same way; the server recovers by itself when PostgreSQL is back.

The database really goes away: the app reaches the tests' PostgreSQL through a relay the test stops
(connections cut, new ones refused) and starts again, or its backends are ended by
pg_terminate_backend, as a restart ends them."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from core.database import create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.urls import async_database_url
from core.viewer import Role
from models.campaigns import Campaign
from models.users import User
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for
from tests.transport.conftest import serve
from tests.transport.outage import PostgresRelay, relay

SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
LEGACY = {"accept": "application/json"}
QUERY = "{ merchantCategories { name } }"
CREATE = 'mutation { createCampaign(input: {name: "Outage", type: PUSH_NOTIFICATION}) { campaign { id } } }'
CREATE_KEYED = """mutation { createCampaign(input: {name: "Keyed", type: PUSH_NOTIFICATION,
  idempotencyKey: "field-key-1"}) { campaign { id } } }"""
# What the driver's text looked like when it reached clients.
DRIVER_WORDS = ("SQL", "Errno", "asyncpg", "sqlalchemy", "Connect call", "connection was closed", "SELECT")


@pytest.fixture
def pg_relay(services: dict[str, str]) -> Iterator[PostgresRelay]:
    with relay(services["database_url"]) as running:
        yield running


@pytest.fixture
async def direct(scratch_db_url: str) -> AsyncIterator[AsyncEngine]:
    """The scratch database, reached without the relay (to set up and to check); unpooled, so it
    holds no connection of its own while the app's are ended."""
    engine = create_async_engine(async_database_url(scratch_db_url), poolclass=NullPool)
    yield engine
    await engine.dispose()


async def _admin_headers(direct: AsyncEngine, settings: Settings) -> dict[str, str]:
    async with create_sessionmaker(direct)() as session, session.begin():
        admin = User(email="ops@example.com", name="Ops", role="admin")
        session.add(admin)
        await session.flush()
        admin_id = admin.id
    token = mint_access_token(
        secret=signing_secret(settings), user_id=admin_id, role=Role.ADMIN, ttl=timedelta(minutes=5)
    )
    return {"authorization": f"Bearer {token}"}


async def _campaigns(direct: AsyncEngine) -> int:
    async with direct.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Campaign)) or 0)


def _unavailable(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response of a request PostgreSQL's absence stopped, checked; returns its one error."""
    assert response.status_code == status, response.text
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["retryAfter"] == 2
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    for word in DRIVER_WORDS:
        assert word not in response.text
    return error  # type: ignore[no-any-return]


def _through(pg_relay: PostgresRelay, settings: Settings, scratch_db_url: str, redis_prefix: str) -> Settings:
    database = make_url(scratch_db_url).database or ""
    return settings.model_copy(
        # The database's absence is under test: no answer may come from the response cache.
        update={
            "database_url": pg_relay.url(database),
            "redis_key_prefix": redis_prefix,
            "response_cache": False,
        }
    )


async def test_a_stopped_database_is_503_with_retry_after_and_recovers_without_a_restart(
    settings: Settings, scratch_db_url: str, pg_relay: PostgresRelay, direct: AsyncEngine, redis_prefix: str
) -> None:
    app_settings = _through(pg_relay, settings, scratch_db_url, redis_prefix)
    admin = await _admin_headers(direct, settings)
    async with client_for(app_settings) as client:
        assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200

        # when PostgreSQL goes away
        pg_relay.stop()
        spec = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)
        legacy = await client.post("/graphql", json={"query": QUERY}, headers=LEGACY)
        got = await client.get("/graphql", params={"query": QUERY}, headers=SPEC)
        plain = await client.post("/graphql", json={"query": CREATE}, headers={**SPEC, **admin})
        # the Idempotency-Key header: the stored-replay lookup meets the outage
        keyed = {**SPEC, **admin, "idempotency-key": "outage-1"}
        header_keyed = await client.post("/graphql", json={"query": CREATE}, headers=keyed)
        # an idempotencyKey input field: the claim in the mutation's transaction meets it
        field_keyed = await client.post("/graphql", json={"query": CREATE_KEYED}, headers={**SPEC, **admin})

        # then every answer is coded, safe and retryable by status
        _unavailable(spec, 503)
        _unavailable(legacy, 200)
        _unavailable(got, 503)
        for response in (plain, header_keyed, field_keyed):
            _unavailable(response, 503)

        # and when it is back, the same server answers, and the retried key writes once
        pg_relay.start()
        back = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)
        retried = await client.post("/graphql", json={"query": CREATE}, headers=keyed)
        replayed = await client.post("/graphql", json={"query": CREATE}, headers=keyed)

    assert back.status_code == 200 and len(back.json()["data"]["merchantCategories"]) == 8
    assert retried.status_code == 200 and retried.json()["data"]["createCampaign"]["campaign"]["id"]
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.json()["data"] == retried.json()["data"]
    assert await _campaigns(direct) == 1


async def _end_backends(pg_relay: PostgresRelay, direct: AsyncEngine, how: str) -> None:
    """Drop every connection the app holds: cut at the relay, or ended by PostgreSQL itself."""
    if how == "cut":
        pg_relay.cut()
        return
    async with direct.connect() as conn:
        ended = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert ended, "the app held no connection to end"


@pytest.mark.parametrize("how", ["cut", "terminated"])
async def test_a_query_is_retried_once_a_mutation_never(
    settings: Settings,
    scratch_db_url: str,
    pg_relay: PostgresRelay,
    direct: AsyncEngine,
    redis_prefix: str,
    how: str,
) -> None:
    app_settings = _through(pg_relay, settings, scratch_db_url, redis_prefix)
    admin = await _admin_headers(direct, settings)
    async with client_for(app_settings) as client:
        assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200

        # when the connections the pool holds are lost (as in a restart), a query still succeeds:
        # the first attempt meets a dead connection, the retry a new one
        await _end_backends(pg_relay, direct, how)
        query = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)

        # while a mutation is not run again: the client decides, with its idempotency key
        await _end_backends(pg_relay, direct, how)
        mutation = await client.post("/graphql", json={"query": CREATE}, headers={**SPEC, **admin})
        written = await _campaigns(direct)
        again = await client.post("/graphql", json={"query": CREATE}, headers={**SPEC, **admin})

    assert query.status_code == 200, query.text
    assert len(query.json()["data"]["merchantCategories"]) == 8
    _unavailable(mutation, 503)
    assert written == 0
    assert again.status_code == 200 and again.json()["data"]["createCampaign"]["campaign"]["id"]


async def test_an_api_key_request_is_503_when_the_database_is_away(
    settings: Settings, scratch_db_url: str, pg_relay: PostgresRelay, direct: AsyncEngine, redis_prefix: str
) -> None:
    app_settings = _through(pg_relay, settings, scratch_db_url, redis_prefix)
    admin = await _admin_headers(direct, settings)
    create_key = 'mutation { createApiKey(input: {name: "etl", role: SERVICE}) { key } }'
    async with client_for(app_settings) as client:
        key = (await client.post("/graphql", json={"query": create_key}, headers=admin)).json()
        pg_relay.stop()
        response = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={**SPEC, "x-api-key": key["data"]["createApiKey"]["key"]},
        )

    _unavailable(response, 503)


async def test_a_statement_past_statement_timeout_is_coded_timeout(
    settings: Settings, scratch_db_url: str, direct: AsyncEngine
) -> None:
    impatient = settings.model_copy(update={"database_url": scratch_db_url, "db_statement_timeout_ms": 200})
    async with client_for(impatient) as client, direct.connect() as conn:
        # given a transaction that holds the table the query reads
        await conn.execute(text("LOCK TABLE merchant_categories IN ACCESS EXCLUSIVE MODE"))
        # when the query waits for it past the statement timeout
        response = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)
        await conn.rollback()

    # then the error says so, in our words
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "statement timeout" not in error["message"]
    for word in DRIVER_WORDS:
        assert word not in response.text


async def test_an_outage_logs_one_line_per_failure_and_no_traceback(
    settings: Settings,
    scratch_db_url: str,
    services: dict[str, str],
    pg_relay: PostgresRelay,
    direct: AsyncEngine,
    tmp_path: Path,
) -> None:
    admin = await _admin_headers(direct, settings)
    log_file = tmp_path / "server.log"
    database_url = pg_relay.url(make_url(scratch_db_url).database or "")

    with serve(database_url, services["redis_url"], log_file, APP_ENV="production") as base:
        async with httpx.AsyncClient(base_url=base, headers=SPEC) as client:
            assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200
            pg_relay.stop()
            requests = {
                "down-query": {"query": QUERY},
                "down-mutation": {"query": CREATE},
                "down-syntax": {"query": "{ merchantCategories { name "},
                "down-invalid": {"query": "{ noSuchField }"},
            }
            answers = {
                request_id: await client.post(
                    "/graphql",
                    json=body,
                    headers={**admin, "x-request-id": request_id, "idempotency-key": request_id},
                )
                for request_id, body in requests.items()
            }
            pg_relay.start()

    assert answers["down-query"].status_code == answers["down-mutation"].status_code == 503
    assert answers["down-syntax"].status_code == answers["down-invalid"].status_code == 400
    log = log_file.read_text()
    assert "Traceback" not in log and "[SQL" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert all("exc" not in line for line in lines)

    def logged(request_id: str) -> list[str]:
        return [
            f"{line['level']} {line['message']}"
            for line in lines
            if line.get("request_id") == request_id and line["logger"] != "uvicorn.access"
        ]

    # the query was tried twice, and said so; each failure is one line
    query_lines = logged("down-query")
    assert sum("retrying a query" in line for line in query_lines) == 1
    assert sum(line.startswith("WARNING SERVICE_UNAVAILABLE") for line in query_lines) == 2
    assert [line for line in logged("down-mutation") if "SERVICE_UNAVAILABLE" in line] == [
        "WARNING SERVICE_UNAVAILABLE at -: The service is temporarily unavailable: retry shortly."
        " (ConnectionRefusedError)"
    ]
    assert [line.split(" at ")[0] for line in logged("down-syntax")] == ["INFO GRAPHQL_PARSE_FAILED"]
    assert [line.split(" at ")[0] for line in logged("down-invalid")] == ["INFO GRAPHQL_VALIDATION_FAILED"]


async def test_readiness_logs_an_unreachable_database_in_one_line(
    settings: Settings, pg_relay: PostgresRelay, caplog: pytest.LogCaptureFixture
) -> None:
    pg_relay.stop()
    away = settings.model_copy(update={"database_url": pg_relay.url("swipesavvy")})
    with caplog.at_level(logging.WARNING, logger="swipesavvy"):
        async with client_for(away) as client:
            response = await client.get("/readyz")

    assert response.status_code == 503
    (record,) = [r for r in caplog.records if "readiness" in r.getMessage()]
    assert not record.exc_info
