"""The real client: Apollo Client 4 and its persisted-queries link (npm, the exact versions of
tests/transport/apollo/package.json) against a live server. With `useGETForHashedQueries` on and
off, under both media types: the first request is the hash alone and misses, the link falls back to
the document, which is stored, and the next request is the hash alone again and hits. With the
server's APQ off the link falls back once and then sends plain documents; in trusted mode listed
documents run by hash at once and any other reaches the app as PERSISTED_QUERY_NOT_IN_LIST."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.transport.conftest import serve
from tests.transport.npm import installed

HERE = Path(__file__).resolve().parent / "apollo"
RUN_TIMEOUT_S = 120
SPEC_ACCEPT = None  # Apollo Client 4's own: application/graphql-response+json,application/json;q=0.9
LEGACY_ACCEPT = "application/json"
# Each run sends its own documents, so each one's first request is a miss.
RUNS = [
    {"name": name, "useGETForHashedQueries": get, "accept": accept}
    for name, get, accept in [
        ("post-spec", False, SPEC_ACCEPT),
        ("get-spec", True, SPEC_ACCEPT),
        ("post-json", False, LEGACY_ACCEPT),
        ("get-json", True, LEGACY_ACCEPT),
    ]
]


def _document(run: str) -> str:
    return f"query Categories_{run.replace('-', '_')} {{ merchantCategories {{ name }} }}"


def _client_package() -> Path:
    return installed(HERE, "Apollo Client")


def _drive(base: str, runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run the node script; its report per run, by name."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run Apollo Client")
    done = subprocess.run(
        [node, "apq.mjs", f"{base}/graphql", json.dumps(runs)],
        cwd=_client_package(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    return {report["name"]: report for report in json.loads(done.stdout)}


def _shape(request: dict[str, Any]) -> tuple[str, str, int]:
    """(method, what it carried, status) of one HTTP request the link made."""
    carried = {
        (False, True): "hash",
        (True, True): "document+hash",
        (True, False): "document",
    }[(request["query"] is not None, request["sha256Hash"] is not None)]
    return request["method"], carried, request["status"]


async def test_the_link_misses_falls_back_stores_and_then_sends_the_hash_alone(
    scratch_db_url: str,
    services: dict[str, str],
    tmp_path: Path,
    redis_prefix: str,
    redis_client: aioredis.Redis,
) -> None:
    runs = [{**run, "documents": [_document(run["name"])] * 2} for run in RUNS]
    log = tmp_path / "server.log"
    with serve(scratch_db_url, services["redis_url"], log, REDIS_KEY_PREFIX=redis_prefix) as base:
        reports = _drive(base, runs)

    for run in RUNS:
        report = reports[run["name"]]
        method = "GET" if run["useGETForHashedQueries"] else "POST"
        miss = 404 if run["accept"] is SPEC_ACCEPT else 200
        # both queries answered the app
        assert [len(a["data"]["merchantCategories"]) for a in report["answers"]] == [8, 8], report
        # the miss, the fallback with the document (always POST), then the hash alone
        assert [_shape(r) for r in report["requests"]] == [
            (method, "hash", miss),
            ("POST", "document+hash", 200),
            (method, "hash", 200),
        ], report
        missed, fallback, hit = report["requests"]
        assert missed["codes"] == ["PERSISTED_QUERY_NOT_FOUND"]
        assert missed["cacheControl"] == "private, no-cache, must-revalidate"
        # the server stored exactly what the link sent, under the hash the link computed
        assert fallback["sha256Hash"] == hashlib.sha256(fallback["query"].encode()).hexdigest()
        stored = await redis_client.get(f"{redis_prefix}apq:{hit['sha256Hash']}")
        assert stored is not None and stored.decode() == fallback["query"]


async def test_with_apq_off_the_link_falls_back_once_then_sends_documents(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    runs = [{**run, "documents": [_document(run["name"])] * 2} for run in RUNS]
    with serve(scratch_db_url, services["redis_url"], tmp_path / "server.log", APQ_ENABLED="false") as base:
        reports = _drive(base, runs)

    for run in RUNS:
        report = reports[run["name"]]
        method = "GET" if run["useGETForHashedQueries"] else "POST"
        not_supported = 400 if run["accept"] is SPEC_ACCEPT else 200
        assert [len(a["data"]["merchantCategories"]) for a in report["answers"]] == [8, 8], report
        # the link turns persisted queries off for the rest of the session
        assert [_shape(r) for r in report["requests"]] == [
            (method, "hash", not_supported),
            ("POST", "document", 200),
            ("POST", "document", 200),
        ], report
        assert report["requests"][0]["codes"] == ["PERSISTED_QUERY_NOT_SUPPORTED"]


async def test_in_trusted_mode_listed_documents_run_by_hash_and_others_are_refused(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    # the manifest lists the documents exactly as the link sends them (printed, __typename added):
    # recorded from the link's fallback on an ordinary server
    listed = [{**run, "documents": [_document(run["name"])]} for run in RUNS]
    with serve(
        scratch_db_url, services["redis_url"], tmp_path / "apq.log", REDIS_KEY_PREFIX=redis_prefix
    ) as base:
        bodies = {report["requests"][1]["query"] for report in _drive(base, listed).values()}
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": hashlib.sha256(body.encode()).hexdigest(), "name": None, "type": "query", "body": body}
            for body in sorted(bodies)
        ],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    unlisted = "query Unlisted { merchantCategories { id } }"
    runs = [{**run, "documents": [_document(run["name"]), unlisted]} for run in RUNS]

    with serve(
        scratch_db_url, services["redis_url"], tmp_path / "trusted.log", TRUSTED_DOCUMENTS=str(path)
    ) as base:
        reports = _drive(base, runs)

    for run in RUNS:
        report = reports[run["name"]]
        method = "GET" if run["useGETForHashedQueries"] else "POST"
        found, refused = report["answers"]
        assert len(found["data"]["merchantCategories"]) == 8, report
        assert refused["codes"] == ["PERSISTED_QUERY_NOT_IN_LIST"], report
        # under application/json a 403 reaches the app as Apollo's ServerError, the body included
        expected = ("CombinedGraphQLErrors", None) if run["accept"] is SPEC_ACCEPT else ("ServerError", 403)
        assert (refused["error"], refused["status"]) == expected
        # one request each: a listed hash runs at once, an unlisted one is not retried
        assert [_shape(r) for r in report["requests"]] == [(method, "hash", 200), (method, "hash", 403)]
