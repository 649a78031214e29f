"""Two real server processes on one database and one Redis: a flag toggled through the API on the first
changes evaluateFlags on the second, within the deadline (bench/flags.py measures how fast)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from tests.transport.conftest import serve_many

DEADLINE_S = 10.0
EVALUATE = {"query": 'query { evaluateFlags(context: {sessionId: "s-1"}, keys: ["two_servers"]) { value } }'}
TOGGLE = """
mutation ($on: Boolean!) {
  toggleFlag(input: {key: "two_servers", enabled: $on, reason: "across processes"}) {
    flag { enabled } userErrors { code }
  }
}
"""


async def _admin_and_flag(url: str) -> int:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(
            "INSERT INTO feature_flags (key, name, category) VALUES ('two_servers', 'T', 'ui')"
        )
        return int(
            await conn.fetchval(
                "INSERT INTO users (email, name, role) VALUES ('ops@example.com', 'Ops', 'admin') "
                "RETURNING id"
            )
        )
    finally:
        await conn.close()


async def _value(client: httpx.AsyncClient, base: str) -> bool:
    response = await client.post(f"{base}/graphql", json=EVALUATE)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return bool(body["data"]["evaluateFlags"][0]["value"])


async def test_a_flag_toggled_on_one_server_changes_evaluation_on_the_other(
    scratch_db_url: str, services: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    admin_id = await _admin_and_flag(scratch_db_url)
    token = mint_access_token(
        secret=signing_secret(settings), user_id=admin_id, role=Role.ADMIN, ttl=dt.timedelta(minutes=5)
    )
    redis_url = services["redis_url"]
    with serve_many(scratch_db_url, redis_url, [tmp_path / "a.log", tmp_path / "b.log"]) as (first, second):
        async with httpx.AsyncClient(timeout=10) as client:
            # given both servers evaluate the flag as off
            assert not await _value(client, first) and not await _value(client, second)

            # when it is switched on through the first server's API
            toggled = await client.post(
                f"{first}/graphql",
                json={"query": TOGGLE, "variables": {"on": True}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert toggled.json()["data"]["toggleFlag"] == {"flag": {"enabled": True}, "userErrors": []}

            # then the first answers on at once (it reloaded before answering) and the second follows
            assert await _value(client, first)
            deadline = time.monotonic() + DEADLINE_S
            while not await _value(client, second):
                assert time.monotonic() < deadline, "the second server still evaluates the old flag"
                await asyncio.sleep(0.05)
