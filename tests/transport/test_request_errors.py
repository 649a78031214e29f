"""The spec's request errors: which operation to run (an unknown `operationName`, several operations
and none named) and credentials that cannot name a viewer are refused with a code, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from core.settings import Settings
from core.tokens import ACCESS_HEADER_TYPE, ALGORITHM, AUDIENCE, ISSUER, signing_secret
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
LEGACY = {"accept": "application/json"}
NAMED = "query First { __typename } query Second { merchantCategories { name } }"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as client:
        yield client


def _only_error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert "data" not in body, body
    (error,) = body["errors"]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(("accept", "status"), [(SPEC, 400), (LEGACY, 200)], ids=["spec", "json"])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_operation_name_matching_no_operation_is_a_request_error(
    client: httpx.AsyncClient, method: str, accept: dict[str, str], status: int
) -> None:
    request = {"query": NAMED, "operationName": "Third"}
    if method == "POST":
        response = await client.post("/graphql", json=request, headers=accept)
    else:
        response = await client.get("/graphql", params=request, headers=accept)

    assert response.status_code == status
    error = _only_error(response)
    assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert "Third" in str(error["message"])


@pytest.mark.parametrize(("accept", "status"), [(SPEC, 400), (LEGACY, 200)], ids=["spec", "json"])
async def test_several_operations_without_a_name_are_not_executed(
    client: httpx.AsyncClient, accept: dict[str, str], status: int
) -> None:
    response = await client.post("/graphql", json={"query": NAMED}, headers=accept)

    assert response.status_code == status
    assert _only_error(response)["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"


async def test_the_named_operation_of_several_runs(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": NAMED, "operationName": "Second"}, headers=SPEC)

    assert response.status_code == 200
    assert len(response.json()["data"]["merchantCategories"]) == 8


@pytest.mark.parametrize("name", ["x\x00y", "N" * 900_000, "not a name"], ids=["nul", "900-kb", "spaces"])
async def test_an_operation_name_that_cannot_name_an_operation_is_a_request_error(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.post("/graphql", json={"query": NAMED, "operationName": name}, headers=SPEC)

    assert response.status_code == 400
    error = _only_error(response)
    assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    # The message names the operation, cut short: a client's 900 KB does not come back to it.
    assert len(str(error["message"])) < 200


async def test_a_batch_answers_an_unknown_operation_in_its_place(client: httpx.AsyncClient) -> None:
    batch = [{"query": NAMED, "operationName": "Nope"}, {"query": NAMED, "operationName": "First"}]

    response = await client.post("/graphql", json=batch, headers=SPEC)

    assert response.status_code == 200
    unknown, known = response.json()
    assert "data" not in unknown
    assert unknown["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert known["data"] == {"__typename": "Query"}


async def test_an_int_literal_of_100k_digits_is_a_validation_error(client: httpx.AsyncClient) -> None:
    document = "{ campaigns(first: " + "1" * 100_000 + ") { totalCount } }"

    response = await client.post("/graphql", json={"query": document}, headers=SPEC)

    assert response.status_code == 400
    assert _only_error(response)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def _token(settings: Settings, **claims: object) -> str:
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "typ": "access",
        "role": "customer",
        **claims,
    }
    return jwt.encode(
        payload, signing_secret(settings), algorithm=ALGORITHM, headers={"typ": ACCESS_HEADER_TYPE}
    )


@pytest.mark.parametrize(
    "claims",
    [{"sub": "abc"}, {"sub": "1e3"}, {"sub": str(2**64)}, {"role": "merchant", "sub": "1", "mid": "x"}],
    ids=["letters", "exponent", "beyond-bigint", "merchant-id"],
)
async def test_a_signed_token_naming_no_valid_user_is_401(
    client: httpx.AsyncClient, settings: Settings, claims: dict[str, object]
) -> None:
    headers = {**SPEC, "authorization": f"Bearer {_token(settings, **claims)}"}

    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert _only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"
