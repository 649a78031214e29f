"""A server a test starts leaves nothing behind in Redis for the next test (or the next run on the same
Redis): its keys go under a prefix of its own, deleted once it stops. A failed login's counter, kept
15 minutes under the shared prefix, once refused a later run's login test."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from tests.transport.conftest import serve

LOGIN = 'mutation { login(input: {email: "nobody@example.com", password: "wrong"}) { userErrors { code } } }'


def test_a_test_server_leaves_no_key_in_redis(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    client = redis.Redis.from_url(services["redis_url"])
    before = set(client.scan_iter())
    with serve(scratch_db_url, services["redis_url"], tmp_path / "server.log") as base:
        answer = httpx.post(f"{base}/graphql", json={"query": LOGIN}, timeout=30).json()
        # the failure was counted in Redis: there was something to clean up
        assert answer["data"]["login"]["userErrors"] == [{"code": "INVALID"}]
        assert set(client.scan_iter()) - before
    assert set(client.scan_iter()) - before == set()
    client.close()
