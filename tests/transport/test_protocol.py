"""GraphQL over HTTP: media types, status codes, GET for queries only, batching and the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import orjson
import pytest

from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

QUERY = "{ merchantCategories { name } }"
SYNTAX_ERROR = "{ merchantCategories { name "
INVALID = "{ noSuchField }"
WITH_VARIABLE = "query ($first: Int!) { campaigns(first: $first) { totalCount } }"
MUTATION = 'mutation { createCampaign(input: {name: "x", type: PUSH_NOTIFICATION}) { campaign { id } } }'
SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
# More than a budget of 1 can pay.
COSTLY = "{ campaigns(first: 50) { edges { node { id } } } }"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as client:
        yield client


def _admin_headers(settings: Settings) -> dict[str, str]:
    token = mint_access_token(
        secret=signing_secret(settings), user_id=None, role=Role.SERVICE, ttl=timedelta(minutes=5)
    )
    return {"authorization": f"Bearer {token}"}


async def test_spec_media_type_is_answered_in_kind(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert len(response.json()["data"]["merchantCategories"]) == 8


# Apollo Server's codes for documents refused before execution; bad variables stay BAD_USER_INPUT.
REQUEST_ERRORS = [
    (SYNTAX_ERROR, None, "GRAPHQL_PARSE_FAILED"),
    (INVALID, None, "GRAPHQL_VALIDATION_FAILED"),
    (WITH_VARIABLE, {"first": "many"}, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(
    ("document", "variables", "code"), REQUEST_ERRORS, ids=["parse", "validation", "variables"]
)
async def test_request_errors_are_400_without_data_for_the_spec_media_type(
    client: httpx.AsyncClient, document: str, variables: dict[str, object] | None, code: str
) -> None:
    response = await client.post("/graphql", json={"query": document, "variables": variables}, headers=SPEC)

    body = response.json()
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("document", "variables", "code"), REQUEST_ERRORS, ids=["parse", "validation", "variables"]
)
async def test_request_errors_are_200_for_application_json(
    client: httpx.AsyncClient, document: str, variables: dict[str, object] | None, code: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables}, headers={"accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_no_accept_header_means_application_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": QUERY}, headers={"accept": ""})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_unacceptable_media_type_is_406(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": QUERY}, headers={"accept": "text/plain"})

    assert response.status_code == 406


async def test_get_runs_a_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": QUERY}, headers=SPEC)

    assert response.status_code == 200
    assert len(response.json()["data"]["merchantCategories"]) == 8


async def test_get_refuses_a_mutation_with_405(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {**SPEC, **_admin_headers(settings)}
    response = await client.get("/graphql", params={"query": MUTATION}, headers=headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"query": "{ __typename }"}', "text/plain", 415),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"query": 42}', "application/json", 400),
        (b'{"query": "{ __typename }", "variables": "x"}', "application/json", 400),
    ],
    ids=["content-type", "bad-json", "empty", "query-not-string", "variables-not-map"],
)
async def test_malformed_posts_are_refused(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post("/graphql", content=content, headers={"content-type": content_type})

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_batch_answers_each_operation_in_order(client: httpx.AsyncClient) -> None:
    batch = [{"query": "{ __typename }"}, {"query": INVALID}, {"query": QUERY}]

    response = await client.post("/graphql", json=batch, headers=SPEC)

    body = response.json()
    assert response.status_code == 200
    assert body[0]["data"] == {"__typename": "Query"}
    assert "data" not in body[1] and body[1]["errors"]
    assert len(body[2]["data"]["merchantCategories"]) == 8


async def test_a_batch_over_the_limit_is_refused(settings: Settings) -> None:
    async with client_for(settings.model_copy(update={"max_batch_operations": 2})) as client:
        response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 3)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["maxBatchOperations"] == 2


async def test_a_batch_with_an_idempotency_key_is_refused(client: httpx.AsyncClient) -> None:
    batch = [{"query": "{ __typename }"}] * 2

    response = await client.post("/graphql", json=batch, headers={"idempotency-key": "k"})

    assert response.status_code == 400


async def test_a_body_over_the_limit_is_413(settings: Settings) -> None:
    padding = " " * 2048
    async with client_for(settings.model_copy(update={"max_body_bytes": 1024})) as client:
        response = await client.post(
            "/graphql",
            content=orjson.dumps({"query": "{ __typename }" + padding}),
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_streamed_body_over_the_limit_is_413(settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * 512

    async with client_for(settings.model_copy(update={"max_body_bytes": 1024})) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )

    assert response.status_code == 413


async def test_a_bad_token_is_401_with_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": QUERY}, headers={**SPEC, "authorization": "Bearer not-a-token"}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_rate_limited_request_is_429_with_retry_after(settings: Settings, redis_prefix: str) -> None:
    tiny_budget = settings.model_copy(
        update={
            "rate_limit_bucket": 1,
            "rate_limit_refill_per_second": 0.01,
            "redis_key_prefix": redis_prefix,
        }
    )
    async with client_for(tiny_budget) as client:
        await client.post("/graphql", json={"query": COSTLY})  # a full bucket pays once, into debt
        spec = await client.post("/graphql", json={"query": COSTLY}, headers=SPEC)
        legacy = await client.post("/graphql", json={"query": COSTLY}, headers={"accept": "application/json"})

    assert spec.status_code == 429
    assert spec.headers["retry-after"]
    assert spec.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
