"""What the WebSocket tests share: two live servers on one database and one Redis, the rows they
subscribe to, tokens of each kind of viewer, and a real client's close code."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from gql import Client
from gql.transport.websockets import WebsocketsTransport
from strawberry import relay

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from tests.models import factories as f
from tests.transport.conftest import serve_many

STATUS = """
subscription ($id: ID!) { campaignStatusChanged(id: $id) { id status name merchant { name } } }
"""
SCHEDULE = """
mutation ($id: ID!) { scheduleCampaign(input: {id: $id}) { campaign { status } userErrors { code } } }
"""
START = "mutation ($id: ID!) { startCampaign(input: {id: $id}) { campaign { status } userErrors { code } } }"
COMPLETE = """
mutation ($id: ID!) { completeCampaign(input: {id: $id}) { campaign { status } userErrors { code } } }
"""
RENAME = """
mutation ($id: ID!, $name: String!) {
  updateCampaign(input: {id: $id, name: $name}) { campaign { name } userErrors { code } }
}
"""
# Generous, never asserted as a speed: a real delivery takes milliseconds.
DEADLINE_S = 10.0


@dataclass(frozen=True)
class World:
    campaign: str  # global id, merchant "Blue Bottle"
    other_campaign: str  # global id, another merchant's
    marketer: str  # bearer tokens
    merchant: str
    other_merchant: str
    admin: str


def token(settings: Settings, role: Role, *, user_id: int | None, merchant_id: int | None = None,
          ttl: dt.timedelta = dt.timedelta(minutes=10)) -> str:  # fmt: skip
    return mint_access_token(
        secret=signing_secret(settings), user_id=user_id, role=role, merchant_id=merchant_id, ttl=ttl
    )


async def make_world(settings: Settings, database_url: str) -> World:
    engine = create_engine(database_url, settings, pool_size=1)
    now = dt.datetime.now(dt.UTC)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            blue = await f.make_merchant(session, name="Blue Bottle")
            other = await f.make_merchant(session, name="Other Shop")
            schedule = {"starts_at": now + dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=30)}
            mine = await f.make_campaign(session, name="Spring", merchant_id=blue.id, **schedule)
            theirs = await f.make_campaign(session, name="Theirs", merchant_id=other.id, **schedule)
            marketer = await f.make_user(session, role="marketer")
            staff = await f.make_user(session, role="merchant", merchant_id=blue.id)
            other_staff = await f.make_user(session, role="merchant", merchant_id=other.id)
            admin = await f.make_user(session, role="admin")
    finally:
        await engine.dispose()
    return World(
        campaign=relay.to_base64("Campaign", mine.id),
        other_campaign=relay.to_base64("Campaign", theirs.id),
        marketer=token(settings, Role.MARKETER, user_id=marketer.id),
        merchant=token(settings, Role.MERCHANT, user_id=staff.id, merchant_id=blue.id),
        other_merchant=token(settings, Role.MERCHANT, user_id=other_staff.id, merchant_id=other.id),
        admin=token(settings, Role.ADMIN, user_id=admin.id),
    )


@contextlib.contextmanager
def two_servers(database_url: str, redis_url: str, tmp_path: Path, prefix: str, **env: str) -> Iterator[
    tuple[str, str]
]:  # fmt: skip
    """Servers A and B (base URLs) sharing the database and Redis (under `prefix`)."""
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with serve_many(database_url, redis_url, logs, REDIS_KEY_PREFIX=prefix, **env) as (a, b):
        yield a, b


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def post(base: str, bearer: str, document: str, variables: dict[str, object]) -> dict[str, object]:
    """One GraphQL request over HTTP."""
    async with httpx.AsyncClient(timeout=DEADLINE_S) as client:
        response = await client.post(
            f"{base}/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {bearer}"},
        )
    return response.json()  # type: ignore[no-any-return]


def close_code(error: BaseException | None) -> int | None:
    """The WebSocket close code behind a client's exception (websockets' ConnectionClosed)."""
    while error is not None:
        received = getattr(error, "rcvd", None)
        if received is not None:
            return int(received.code)
        error = error.__cause__ or error.__context__
    return None


def gql_client(base: str, bearer: str) -> Client:
    """The Python gql client's WebSocket transport, pinned to the legacy graphql-ws subprotocol."""
    transport = WebsocketsTransport(
        url=ws_url(base),
        init_payload={"Authorization": f"Bearer {bearer}"},
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],
    )
    return Client(transport=transport, fetch_schema_from_transport=False)
