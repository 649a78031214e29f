"""Two server processes sharing one Redis draw from the same bucket."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.transport.conftest import serve_many

COSTS_TEN = "{ " + " ".join(f"a{i}: __typename" for i in range(10)) + " }"


def test_a_bucket_drained_through_one_process_is_empty_in_the_other(
    scratch_db_url: str, services: dict[str, str], redis_prefix: str, tmp_path: Path
) -> None:
    # given two server processes on one Redis, with a bucket of 25 that barely refills
    env = {
        "REDIS_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_BUCKET": "25",
        "RATE_LIMIT_REFILL_PER_SECOND": "0.01",
        "LOG_LEVEL": "WARNING",
    }
    logs = [tmp_path / "server1.log", tmp_path / "server2.log"]
    with serve_many(scratch_db_url, services["redis_url"], logs, **env) as (first, second):
        # when the same caller spends 20 through the first process
        for _ in range(2):
            served = httpx.post(f"{first}/graphql", json={"query": COSTS_TEN}, timeout=10).json()
            assert "errors" not in served
        # then the second process sees 5 left and refuses a query costing 10
        refused = httpx.post(f"{second}/graphql", json={"query": COSTS_TEN}, timeout=10)
    body = refused.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
    assert refused.headers["retry-after"] == str(body["errors"][0]["extensions"]["retryAfter"])
