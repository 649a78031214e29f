"""Automatic persisted queries, Apollo's protocol: a hash alone misses until the document has been sent
with it, is found by every worker afterwards (Redis), and every malformed request gets a clear error;
over GET, over POST, in batches, and with APQ turned off."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from core.settings import Settings
from tests.transport.client import GRAPHQL_RESPONSE_JSON, client_for

SPEC = {"accept": GRAPHQL_RESPONSE_JSON}
LEGACY = {"accept": "application/json"}
QUERY = "{ merchantCategories { name } }"
MUTATION = 'mutation { createCampaign(input: {name: "x", type: PUSH_NOTIFICATION}) { campaign { id } } }'
NO_CACHE = "private, no-cache, must-revalidate"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, *, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


def hash_only(document: str) -> dict[str, Any]:
    return {"extensions": persisted(document)}


def with_hash(document: str) -> dict[str, Any]:
    return {"query": document, "extensions": persisted(document)}


def get_params(body: dict[str, Any]) -> dict[str, str]:
    """A POST body as GET's parameters (JSON members encoded, as Apollo Client sends them)."""
    return {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in body.items()}


def the_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body, body
    (error,) = body["errors"]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return error  # type: ignore[no-any-return]


@pytest.fixture
def apq_settings(settings: Settings, redis_prefix: str) -> Settings:
    return settings.model_copy(update={"redis_key_prefix": redis_prefix})


@pytest.fixture
async def client(apq_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(apq_settings) as client:
        yield client


@pytest.mark.parametrize(("headers", "status"), [(SPEC, 404), (LEGACY, 200)], ids=["spec", "json"])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_unknown_hash_is_persisted_query_not_found_and_never_cached(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, method: str
) -> None:
    body = hash_only("{ __typename }")
    if method == "GET":
        response = await client.get("/graphql", params=get_params(body), headers=headers)
    else:
        response = await client.post("/graphql", json=body, headers=headers)

    # Apollo Client falls back on the code, Apollo Kotlin and iOS on the message
    assert response.status_code == status
    error = the_error(response)
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert response.headers["cache-control"] == NO_CACHE


async def test_the_document_sent_with_its_hash_is_answered_stored_and_then_found_by_hash(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # given a miss
    assert (await client.post("/graphql", json=hash_only(QUERY), headers=SPEC)).status_code == 404

    # when the client sends the document with its hash
    registered = await client.post("/graphql", json=with_hash(QUERY), headers=SPEC)

    # then it is answered and kept in Redis under the hash, for a bounded time
    assert registered.status_code == 200, registered.text
    assert len(registered.json()["data"]["merchantCategories"]) == 8
    key = f"{redis_prefix}apq:{sha256(QUERY)}"
    assert await redis_client.get(key) == QUERY.encode()
    assert 0 < await redis_client.ttl(key) <= 86_400
    # and the hash alone now runs it, over POST and GET, under both media types
    for headers in (SPEC, LEGACY):
        posted = await client.post("/graphql", json=hash_only(QUERY), headers=headers)
        got = await client.get("/graphql", params=get_params(hash_only(QUERY)), headers=headers)
        for hit in (posted, got):
            assert hit.status_code == 200, hit.text
            assert hit.json()["data"] == registered.json()["data"]
            # a hit is an ordinary answer: an anonymous viewer's PUBLIC fields may be kept by a CDN
            assert hit.headers["cache-control"] == "public, max-age=300"


async def test_a_document_stored_by_one_worker_is_found_by_another(apq_settings: Settings) -> None:
    async with client_for(apq_settings) as first, client_for(apq_settings) as second:
        stored = await first.post("/graphql", json=with_hash(QUERY), headers=SPEC)
        found = await second.post("/graphql", json=hash_only(QUERY), headers=SPEC)

    assert stored.status_code == found.status_code == 200
    assert found.json()["data"] == stored.json()["data"]


@pytest.mark.parametrize("headers", [SPEC, LEGACY], ids=["spec", "json"])
async def test_a_hash_that_does_not_match_the_document_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, redis_prefix: str, headers: dict[str, str]
) -> None:
    # a hash hijack: another document's hash with this document
    body = {"query": QUERY, "extensions": persisted("{ __typename }")}

    response = await client.post("/graphql", json=body, headers=headers)

    assert response.status_code == 400
    error = the_error(response)
    assert error["message"] == "provided sha does not match query"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await redis_client.get(f"{redis_prefix}apq:{sha256('{ __typename }')}") is None


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ({"version": 2, "sha256Hash": sha256(QUERY)}, "Unsupported persisted query version"),
        ({"version": "1", "sha256Hash": sha256(QUERY)}, "Unsupported persisted query version"),
        ({"version": True, "sha256Hash": sha256(QUERY)}, "Unsupported persisted query version"),
        ({"sha256Hash": sha256(QUERY)}, "Unsupported persisted query version"),
        ({"version": 1}, "must be an object with a version and a sha256Hash"),
        ({"version": 1, "sha256Hash": 12}, "must be an object with a version and a sha256Hash"),
        ("yes", "must be an object with a version and a sha256Hash"),
        ({"version": 1, "sha256Hash": sha256(QUERY).upper()}, "64 lowercase hex digits"),
        ({"version": 1, "sha256Hash": "x" * 5000}, "64 lowercase hex digits"),
    ],
    ids=["v2", "string", "bool", "no-version", "no-hash", "number-hash", "not-object", "upper", "long"],
)
async def test_a_malformed_persisted_query_extension_is_a_clear_400(
    client: httpx.AsyncClient, extension: object, message: str
) -> None:
    body = {"extensions": {"persistedQuery": extension}}

    posted = await client.post("/graphql", json=body, headers=SPEC)
    got = await client.get("/graphql", params=get_params(body), headers=LEGACY)

    for response in (posted, got):
        assert response.status_code == 400
        error = the_error(response)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert message in error["message"]


@pytest.mark.parametrize(
    "body",
    [{"extensions": {"persistedQuery": None}}, {"extensions": {"other": 1}}, {"query": "", "extensions": {}}],
    ids=["null", "other-extension", "empty-query"],
)
async def test_without_a_persisted_query_a_request_still_needs_its_document(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/graphql", json=body, headers=SPEC)

    assert response.status_code == 400
    assert the_error(response)["message"] == "The request has no query string."


@pytest.mark.parametrize(("headers", "status"), [(SPEC, 400), (LEGACY, 200)], ids=["spec", "json"])
@pytest.mark.parametrize("body", [hash_only(QUERY), with_hash(QUERY)], ids=["hash-only", "with-document"])
async def test_with_apq_off_a_persisted_query_is_not_supported(
    apq_settings: Settings, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    async with client_for(apq_settings.model_copy(update={"apq_enabled": False})) as client:
        response = await client.post("/graphql", json=body, headers=headers)
        plain = await client.post("/graphql", json={"query": QUERY}, headers=headers)

    assert response.status_code == status
    error = the_error(response)
    assert error["message"] == "PersistedQueryNotSupported"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert response.headers["cache-control"] == NO_CACHE
    # the client's fallback, the document without the extension, works
    assert plain.status_code == 200 and plain.json()["data"]["merchantCategories"]


async def test_a_known_mutation_is_still_refused_over_get(client: httpx.AsyncClient) -> None:
    # given a mutation stored through POST (anonymous: its field is refused, the document is fine)
    stored = await client.post("/graphql", json=with_hash(MUTATION), headers=SPEC)
    assert stored.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # when its hash alone comes over GET
    response = await client.get("/graphql", params=get_params(hash_only(MUTATION)), headers=SPEC)
    # it is the spec's 405, while POST runs it
    posted = await client.post("/graphql", json=hash_only(MUTATION), headers=SPEC)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert the_error(response)["message"] == "Mutations must be sent with POST."
    assert posted.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_each_operation_of_a_batch_is_persisted_on_its_own(client: httpx.AsyncClient) -> None:
    other = "{ t: __typename }"
    batch = [hash_only(QUERY), with_hash(QUERY), hash_only(QUERY), with_hash(other), {"query": other}]

    response = await client.post("/graphql", json=batch, headers=SPEC)

    assert response.status_code == 200
    missed, stored, found, other_stored, plain = response.json()
    assert missed["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "data" not in missed
    assert stored["data"] == found["data"] and len(found["data"]["merchantCategories"]) == 8
    assert other_stored["data"] == plain["data"] == {"t": "Query"}
    # the batch is as cacheable as its least cacheable member: `__typename` alone has no hint
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "document",
    ["{ merchantCategories { name ", "{ noSuchField }", "{ " + "a: __typename " * 40 + "}"],
    ids=["syntax", "validation", "too-many-aliases"],
)
async def test_a_document_that_cannot_run_is_not_stored(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, redis_prefix: str, document: str
) -> None:
    response = await client.post("/graphql", json=with_hash(document), headers=SPEC)

    assert response.status_code == 400
    assert await redis_client.get(f"{redis_prefix}apq:{sha256(document)}") is None
