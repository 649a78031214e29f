"""Trusted documents (TRUSTED_DOCUMENTS): only a manifest's documents run, by id or sent whole; any
other is refused before parsing (PERSISTED_QUERY_NOT_IN_LIST, 403), nothing is stored, and a
manifest the server cannot use stops it from starting, saying why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from core.settings import Settings
from server import create_app
from tests.transport.client import client_for
from tests.transport.conftest import serve
from tests.transport.test_persisted_queries import (
    LEGACY,
    MUTATION,
    QUERY,
    SPEC,
    get_params,
    hash_only,
    sha256,
    the_error,
    with_hash,
)
from transport.trusted_documents import ManifestError

TYPENAME = "query Typename { __typename }"
UNLISTED = "{ merchantCategories { id } }"
INTROSPECTION = "{ __schema { queryType { name } } }"


def apollo_manifest(*documents: str) -> dict[str, Any]:
    """Apollo's persisted-query manifest, as @apollo/generate-persisted-query-manifest writes it."""
    operations = [{"id": sha256(body), "name": None, "type": "query", "body": body} for body in documents]
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


def written(tmp_path: Path, manifest: object, name: str = "manifest.json") -> Path:
    path = tmp_path / name
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return path


def by_id(document_id: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id}}}


@pytest.fixture
def trusted_settings(settings: Settings, redis_prefix: str, tmp_path: Path) -> Settings:
    path = written(tmp_path, apollo_manifest(QUERY, TYPENAME, MUTATION))
    return settings.model_copy(
        update={"redis_key_prefix": redis_prefix, "trusted_documents": path, "graphiql": True}
    )


@pytest.fixture
async def client(trusted_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(trusted_settings) as client:
        yield client


async def test_a_listed_document_runs_sent_whole_or_by_its_id(client: httpx.AsyncClient) -> None:
    whole = await client.post("/graphql", json={"query": QUERY}, headers=SPEC)
    posted = await client.post("/graphql", json=hash_only(QUERY), headers=SPEC)
    got = await client.get("/graphql", params=get_params(hash_only(QUERY)), headers=LEGACY)
    named = await client.post(
        "/graphql", json={**hash_only(TYPENAME), "operationName": "Typename"}, headers=SPEC
    )

    for response in (whole, posted, got):
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]["merchantCategories"]) == 8
    assert named.json() == {"data": {"__typename": "Query"}, "extensions": named.json()["extensions"]}


@pytest.mark.parametrize("headers", [SPEC, LEGACY], ids=["spec", "json"])
@pytest.mark.parametrize(
    "body",
    [
        {"query": UNLISTED},
        {"query": INTROSPECTION},
        # never parsed: refused as unlisted, not as a syntax error
        {"query": "{ merchantCategories { name "},
        with_hash(UNLISTED),
    ],
    ids=["unlisted", "introspection", "syntax-error", "unlisted-with-hash"],
)
async def test_any_other_document_is_refused_before_parsing(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> None:
    response = await client.post("/graphql", json=body, headers=headers)

    assert response.status_code == 403
    error = the_error(response)
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert error["message"] == "The document is not in the trusted documents list."


async def test_an_unknown_id_is_not_in_list_and_a_mismatched_one_a_clear_error(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.post("/graphql", json=hash_only(UNLISTED), headers=SPEC)
    mismatched = await client.post(
        "/graphql", json={"query": QUERY, "extensions": hash_only(TYPENAME)["extensions"]}, headers=SPEC
    )

    assert unknown.status_code == 403
    assert the_error(unknown)["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert the_error(unknown)["message"] == "No trusted document has this id."
    assert mismatched.status_code == 400
    assert the_error(mismatched)["message"] == "provided sha does not match query"


async def test_nothing_is_stored_in_trusted_mode(
    client: httpx.AsyncClient, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    response = await client.post("/graphql", json=with_hash(QUERY), headers=SPEC)

    assert response.status_code == 200
    assert [key async for key in redis_client.scan_iter(match=f"{redis_prefix}apq:*")] == []


async def test_over_get_an_unlisted_mutation_is_refused_unparsed_and_a_listed_one_is_405(
    client: httpx.AsyncClient,
) -> None:
    unlisted = 'mutation { createCampaign(input: {name: "y", type: SMS}) { campaign { id } } }'
    refused = await client.get("/graphql", params={"query": unlisted}, headers=SPEC)
    listed = await client.get("/graphql", params=get_params(hash_only(MUTATION)), headers=SPEC)

    assert refused.status_code == 403
    assert listed.status_code == 405


async def test_graphiql_is_not_served_in_trusted_mode(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})

    assert not page.headers["content-type"].startswith("text/html")


async def test_a_batch_refuses_its_unlisted_members_only(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json=[{"query": UNLISTED}, hash_only(QUERY), by_id("nope")], headers=SPEC
    )

    assert response.status_code == 200
    unlisted, listed, unknown = response.json()
    assert unlisted["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert len(listed["data"]["merchantCategories"]) == 8
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


async def test_the_plain_map_of_client_build_tools_is_read_with_its_own_ids(
    settings: Settings, tmp_path: Path
) -> None:
    # GraphQL Code Generator's persisted-documents.json, Relay's persisted_queries.json: id -> document
    path = written(tmp_path, {"home-v1": QUERY, "a1b2": TYPENAME})
    # APQ off changes nothing here: the list answers ids
    trusted = settings.model_copy(update={"trusted_documents": path, "apq_enabled": False})
    async with client_for(trusted) as client:
        home = await client.post("/graphql", json=by_id("home-v1"), headers=SPEC)
        whole = await client.post("/graphql", json={"query": TYPENAME}, headers=SPEC)
        refused = await client.post("/graphql", json={"query": UNLISTED}, headers=SPEC)

    assert len(home.json()["data"]["merchantCategories"]) == 8
    assert whole.json()["data"] == {"__typename": "Query"}
    assert refused.status_code == 403


BAD_MANIFESTS = [
    ("{ not json", "is not valid JSON"),
    ([QUERY], "must be a JSON object"),
    ({}, "lists no document"),
    ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "unknown format"),
    ({"format": "relay", "version": 1, "operations": []}, "unknown format"),
    (
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": {}},
        '"operations" must be a list',
    ),
    (
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]},
        'operations[0] must have a string "id" and "body"',
    ),
    ({"x": 12}, "the value of 'x' must be a document"),
    ({"x": "{ merchantCategories { "}, "the document of id 'x' is not valid GraphQL (Syntax Error"),
    (
        {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": "x", "body": QUERY}, {"id": "x", "body": TYPENAME}],
        },
        "id 'x' is given to two different documents",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "problem"),
    BAD_MANIFESTS,
    ids=[
        "not-json",
        "array",
        "empty",
        "version-2",
        "other-format",
        "operations-object",
        "no-body",
        "not-text",
        "not-graphql",
        "duplicate-id",
    ],
)
def test_a_manifest_the_server_cannot_use_fails_start_up_clearly(
    settings: Settings, tmp_path: Path, manifest: object, problem: str
) -> None:
    path = written(tmp_path, manifest)

    with pytest.raises(ManifestError) as refused:
        create_app(settings.model_copy(update={"trusted_documents": path}))

    assert str(refused.value).startswith(f"TRUSTED_DOCUMENTS={path}: ")
    assert problem in str(refused.value)


def test_a_missing_manifest_fails_start_up_clearly(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"TRUSTED_DOCUMENTS=.*nowhere\.json: cannot be read"):
        create_app(settings.model_copy(update={"trusted_documents": tmp_path / "nowhere.json"}))


def test_the_server_does_not_start_with_a_bad_manifest(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    path = written(tmp_path, "{ not json")

    with pytest.raises(RuntimeError, match="the server did not start") as refused:
        with serve(
            scratch_db_url, services["redis_url"], tmp_path / "server.log", TRUSTED_DOCUMENTS=str(path)
        ):
            pass

    # one line, before anything started, rather than a traceback per worker
    assert f"serve: TRUSTED_DOCUMENTS={path}: is not valid JSON" in str(refused.value)
    assert "Traceback" not in str(refused.value)
