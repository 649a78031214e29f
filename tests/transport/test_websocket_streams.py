"""Subscription streams in one worker, on the app's real pools, Redis and change feed: subscribers of
one scope share one execution per event, each event runs on a fresh context, and each delivered
event is charged to each subscriber's budget."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from graphql import parse
from sqlalchemy import select, update
from starlette.datastructures import State
from strawberry import relay

from core.settings import Settings
from core.tokens import signing_secret
from core.viewer import Role, Viewer
from models.campaigns import Campaign
from schema import schema
from schema.extensions.cost import query_cost
from server import create_app
from tests.models import factories as f
from tests.support import counting
from tests.transport.ws.world import DEADLINE_S, STATUS
from transport.websocket import Connection, GraphQLWebSocket
from transport.websocket_operations import operation_results
from transport.websocket_streams import Delivery


@pytest.fixture
def app_settings(settings: Settings, scratch_db_url: str, redis_prefix: str) -> Settings:
    return settings.model_copy(
        update={"database_url": scratch_db_url, "redis_key_prefix": redis_prefix, "response_cache": False}
    )


@pytest.fixture
async def state(app_settings: Settings) -> AsyncIterator[dict[str, Any]]:
    app = create_app(app_settings)
    async with app.router.lifespan_context(app) as lifespan_state:
        yield dict(lifespan_state or {})


@pytest.fixture
async def campaign(state: dict[str, Any]) -> tuple[int, int]:
    """A draft campaign of a merchant: (campaign id, merchant id)."""
    async with state["sessionmaker"]() as session, session.begin():
        merchant = await f.make_merchant(session)
        now = dt.datetime.now(dt.UTC)
        schedule = {"starts_at": now + dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=9)}
        row = await f.make_campaign(session, merchant_id=merchant.id, **schedule)
    return row.id, merchant.id


def _connection(state: dict[str, Any], settings: Settings, viewer: Viewer) -> Connection:
    # The socket's part of a connection: the app's state and the peer (none here).
    connection = Connection(SimpleNamespace(state=State(state), client=None), settings)  # type: ignore[arg-type]
    connection.viewer = viewer
    return connection


async def _set_status(
    state: dict[str, Any], settings: Settings, campaign_id: int, status: str, name: str
) -> None:
    """A committed write on the request path (RequestContext.write_session): its changes are published."""
    writer = _connection(state, settings, Viewer(role=Role.ADMIN, user_id=None))
    async with writer.new_context("write").write_session() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(status=status, name=name)
        )


async def _next(stream: AsyncIterator[Delivery]) -> Delivery:
    async with asyncio.timeout(DEADLINE_S):
        return await anext(stream)


def _sent(delivery: Delivery) -> dict[str, Any]:
    """A delivery's payload as the client reads it."""
    return orjson.loads(orjson.dumps(delivery.payload))  # type: ignore[no-any-return]


def _shown(delivery: Delivery) -> tuple[str, str]:
    campaign = _sent(delivery)["data"]["campaignStatusChanged"]
    return campaign["status"], campaign["name"]


def _campaign_reads(statements: list[str]) -> int:
    return sum(s.startswith("SELECT") and "FROM campaigns" in s for s in statements)


async def test_one_scope_shares_one_execution_per_event_and_reads_afresh(
    state: dict[str, Any], app_settings: Settings, campaign: tuple[int, int]
) -> None:
    campaign_id, merchant_id = campaign
    view = GraphQLWebSocket(app_settings, signing_secret(app_settings))
    variables = {"id": relay.to_base64("Campaign", campaign_id)}
    staff = [Viewer(role=Role.MERCHANT, user_id=user, merchant_id=merchant_id) for user in (101, 102)]
    viewers = [*staff, Viewer(role=Role.ADMIN, user_id=103)]
    streams = [
        operation_results(view, _connection(state, app_settings, viewer), STATUS, variables, None)
        for viewer in viewers
    ]
    # given two staff of the merchant and an admin on the campaign's page
    first = [await _next(stream) for stream in streams]
    assert all(_sent(d)["data"]["campaignStatusChanged"]["status"] == "DRAFT" for d in first)
    # then the two staff share one stream, the admin (another scope) has their own
    assert len(view.streams) == 2

    with counting(state["engine"].sync_engine) as statements:
        # when the status changes, twice, with the name
        await _set_status(state, app_settings, campaign_id, "scheduled", "One")
        second = [await _next(stream) for stream in streams]
        await _set_status(state, app_settings, campaign_id, "running", "Two")
        third = [await _next(stream) for stream in streams]

    # then each event was executed once per scope: one read of the row per stream and event, and the
    # staff were sent the very same serialised answer
    assert _campaign_reads(statements) == 2 * 2  # 2 events x 2 streams, not x 3 subscribers
    assert second[0].payload is second[1].payload and third[0].payload is third[1].payload
    # and every event was read on a fresh context (no loader kept the row of the event before)
    for delivery in second:
        assert _shown(delivery) == ("SCHEDULED", "One")
    for delivery in third:
        assert _shown(delivery) == ("RUNNING", "Two")

    for stream in streams:
        await stream.aclose()  # type: ignore[attr-defined]
    # and the last subscriber leaving stops each stream (its task ends), its watch gone
    async with asyncio.timeout(DEADLINE_S):
        while len(view.streams):
            await asyncio.sleep(0.01)
    assert state["services"].live.watches == 0


async def test_each_delivered_event_is_charged_to_the_subscriber(
    state: dict[str, Any], app_settings: Settings, campaign: tuple[int, int]
) -> None:
    campaign_id, merchant_id = campaign
    # the cost of the page's document, as the server counts it
    cost = query_cost(schema._schema, parse(STATUS), variables={"id": "x"})
    # given a budget of exactly two such costs, hardly refilling: subscribing and the first answer
    settings = app_settings.model_copy(
        update={"rate_limit_bucket": 2 * cost, "rate_limit_refill_per_second": 0.001}
    )
    view = GraphQLWebSocket(settings, signing_secret(settings))
    viewer = Viewer(role=Role.MERCHANT, user_id=201, merchant_id=merchant_id)
    variables = {"id": relay.to_base64("Campaign", campaign_id)}
    stream = operation_results(view, _connection(state, settings, viewer), STATUS, variables, None)
    initial = await _next(stream)
    assert initial.refusal is None and _shown(initial)[0] == "DRAFT"

    # when the status changes, the budget is spent
    await _set_status(state, settings, campaign_id, "scheduled", "Spent")
    refused = await _next(stream)

    # then the event is not sent: RATE_LIMITED instead, and the subscription stays
    assert refused.payload["data"] is None
    assert [e["extensions"]["code"] for e in refused.payload["errors"]] == ["RATE_LIMITED"]
    async with state["sessionmaker"]() as session:
        assert await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) == "scheduled"
    await stream.aclose()  # type: ignore[attr-defined]


async def test_a_subscription_sent_over_http_is_refused_with_a_code(app_settings: Settings) -> None:
    from tests.transport.client import client_for

    async with client_for(app_settings) as client:
        posted = await client.post(
            "/graphql", json={"query": "subscription { auditLogAppended { action } }"},
            headers={"accept": "application/json"},
        )  # fmt: skip
    assert posted.status_code < 500, posted.text
    assert [e["extensions"]["code"] for e in posted.json()["errors"]] == ["OPERATION_RESOLUTION_FAILURE"]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("subscription { campaignStatusChanged(id: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { auditLogAppended { action } }", "FORBIDDEN"),
        ("subscription { " + " ".join(f"a{n}: auditLogAppended {{ action }}" for n in range(16)) + " }",
         "QUERY_TOO_COMPLEX"),
        ("subscription { campaignStatusChanged(id: \"bm90IGEgY2FtcGFpZ24=\") { id } }", "BAD_USER_INPUT"),
    ],
)  # fmt: skip
async def test_a_subscription_refused_before_it_starts_says_why_with_a_code(
    state: dict[str, Any], app_settings: Settings, document: str, code: str
) -> None:
    view = GraphQLWebSocket(app_settings, signing_secret(app_settings))
    merchant = Viewer(role=Role.MERCHANT, user_id=301, merchant_id=1)
    refused = await _next(
        operation_results(view, _connection(state, app_settings, merchant), document, None, None)
    )
    assert refused.refusal is not None
    assert [e["extensions"]["code"] for e in refused.refusal][:1] == [code]
    assert all(e["extensions"]["requestId"] for e in refused.refusal)


async def test_a_subscriber_joining_while_the_first_event_is_charged_is_sent_it(
    redis_client: Any, redis_prefix: str
) -> None:
    """The first event's charge is awaited (Redis): a subscriber joining meanwhile is among neither
    those charged for it nor, until it is kept, those sent the latest; it must still get it."""
    from core.ratelimit import TokenBucket
    from transport.websocket_streams import SharedStreams

    go = asyncio.Event()

    async def results() -> AsyncIterator[Any]:
        await go.wait()
        yield SimpleNamespace(
            data={"campaignStatusChanged": {"status": "DRAFT"}}, errors=None, extensions=None
        )
        await asyncio.Event().wait()  # no second event

    async def subscribing() -> AsyncIterator[Any]:
        return results()

    context = SimpleNamespace(keeps_latest=True, request_id="first", version=1)
    streams = SharedStreams(queued_events=10)
    charged = TokenBucket(redis_client, prefix=redis_prefix, capacity=100, refill_per_second=1)
    free = TokenBucket(None, prefix=redis_prefix, capacity=100, refill_per_second=1)

    def follow(identity: str, bucket: TokenBucket) -> AsyncIterator[Delivery]:
        return streams.follow(
            key="page", identity=identity, request_id=identity, start=lambda: (context, subscribing()),
            bucket=bucket, cost=1, event_cost=1,
        )  # fmt: skip

    # given a stream whose first subscriber waits for its first event
    first = follow("user:1", charged)
    first_delivery = asyncio.create_task(anext(first))  # type: ignore[arg-type]
    while not len(streams):
        await asyncio.sleep(0.01)
    # when that event comes while Redis holds every command back, so its charge is still awaited,
    await redis_client.execute_command("CLIENT", "PAUSE", "500")
    go.set()
    await asyncio.sleep(0.1)
    # and a second subscriber (whose own subscribing costs nothing here) joins the stream then
    second = follow("user:2", free)
    async with asyncio.timeout(DEADLINE_S):
        joined = await anext(second)  # type: ignore[arg-type]
        delivered = await first_delivery

    # then both were sent the first event, the very same serialised answer
    assert joined.payload is delivered.payload
    assert _sent(joined)["data"] == {"campaignStatusChanged": {"status": "DRAFT"}}
    for stream in (first, second):
        await stream.aclose()  # type: ignore[attr-defined]


FLAGS = 'subscription { flagsChanged(context: {sessionId: "s-1"}) { key value } }'


async def test_a_selection_whose_types_say_no_scope_is_shared_by_one_person_only(
    state: dict[str, Any], app_settings: Settings
) -> None:
    # given two marketers and one of them again on a second socket, subscribed to a field whose types
    # carry no cache hint (nothing says its answer is the same for everyone of a role)
    view = GraphQLWebSocket(app_settings, signing_secret(app_settings))
    viewers = [Viewer(role=Role.MARKETER, user_id=user) for user in (201, 202, 201)]
    streams = [
        operation_results(view, _connection(state, app_settings, viewer), FLAGS, None, None)
        for viewer in viewers
    ]
    for stream in streams:
        assert (await _next(stream)).refusal is None

    # then each person has a stream of their own, shared by their two sockets only
    assert len(view.streams) == 2
    for stream in streams:
        await stream.aclose()  # type: ignore[attr-defined]
