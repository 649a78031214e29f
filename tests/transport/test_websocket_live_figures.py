"""Live figures over WebSocket against two servers sharing one PostgreSQL and one Redis:
`campaignMetrics` with the gql client (legacy graphql-ws subprotocol) and `experimentResults` with the
npm graphql-ws client (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from strawberry import relay

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.viewer import Role
from tests.jobs.support import job_settings, running_worker
from tests.models import factories as f
from tests.transport.conftest import serve
from tests.transport.ws.node import subscribed
from tests.transport.ws.world import DEADLINE_S, gql_client, post, token, two_servers

METRICS = """
subscription ($id: ID!) { campaignMetrics(campaignId: $id) { impressions clicks clickThroughRate } }
"""
RECORD = """
mutation ($input: RecordCampaignEventsInput!) {
  recordCampaignEvents(input: $input) { accepted userErrors { code } }
}
"""
RESULTS = """
subscription ($id: ID!) {
  experimentResults(experimentId: $id) { source variants { key users conversions } }
}
"""
ASSIGN = """
mutation ($test: ID!, $user: ID!) {
  assignVariant(input: {experimentId: $test, userId: $user}) { assignment { variantKey } userErrors { code } }
}
"""
CONVERT = """
mutation ($test: ID!, $user: ID!) {
  recordConversion(input: {experimentId: $test, userId: $user, revenue: "5.00"}) { userErrors { code } }
}
"""
BATCHES = 10


@dataclass(frozen=True)
class Figures:
    campaign: str  # a running campaign of the merchant's
    other_campaign: str  # another merchant's
    experiment: str  # running, variants "control" and "treatment"
    customers: list[str]
    merchant: str  # tokens
    marketer: str
    service: str
    customer: str


@pytest.fixture
async def figures(settings: Settings, scratch_db_url: str) -> Figures:
    engine = create_engine(scratch_db_url, settings, pool_size=1)
    now = dt.datetime.now(dt.UTC)
    running = {
        "status": "running",
        "starts_at": now - dt.timedelta(days=1),
        "ends_at": now + dt.timedelta(days=9),
    }
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            mine, theirs = await f.make_merchant(session), await f.make_merchant(session)
            campaign = await f.make_campaign(session, merchant_id=mine.id, **running)
            other = await f.make_campaign(session, merchant_id=theirs.id, **running)
            test = await f.make_ab_test(session, status="running", starts_at=now - dt.timedelta(days=1))
            await f.make_ab_test_variant(session, test_id=test.id, key="control", is_control=True)
            await f.make_ab_test_variant(session, test_id=test.id, key="treatment")
            customers = [await f.make_user(session, role="customer") for _ in range(3)]
            staff = await f.make_user(session, role="merchant", merchant_id=mine.id)
            marketer = await f.make_user(session, role="marketer")
    finally:
        await engine.dispose()
    return Figures(
        campaign=relay.to_base64("Campaign", campaign.id),
        other_campaign=relay.to_base64("Campaign", other.id),
        experiment=relay.to_base64("Experiment", test.id),
        customers=[relay.to_base64("User", c.id) for c in customers],
        merchant=token(settings, Role.MERCHANT, user_id=staff.id, merchant_id=mine.id),
        marketer=token(settings, Role.MARKETER, user_id=marketer.id),
        service=token(settings, Role.SERVICE, user_id=None),
        customer=token(settings, Role.CUSTOMER, user_id=customers[0].id),
    )


def _impressions(campaign: str, count: int) -> dict[str, Any]:
    at = dt.datetime.now(dt.UTC).isoformat()
    events = [{"campaignId": campaign, "type": "IMPRESSION", "occurredAt": at} for _ in range(count)]
    return {"input": {"events": events}}


async def test_campaign_metrics_are_pushed_coalesced_to_the_campaigns_merchant(
    figures: Figures,
    settings: Settings,
    scratch_db_url: str,
    services: dict[str, str],
    tmp_path: Path,
    redis_prefix: str,
) -> None:
    # the events are counted by a job worker's fold, which announces its commits through Redis
    worker = job_settings(settings, scratch_db_url, redis_key_prefix=redis_prefix)
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        async with gql_client(b, figures.merchant) as session, running_worker(worker):
            request = GraphQLRequest(METRICS, variable_values={"id": figures.campaign})
            pushes = session.subscribe(request)
            async with asyncio.timeout(DEADLINE_S):
                # given the merchant's dashboard on B showing the campaign's totals
                first = await anext(pushes)
                # when the app's events arrive on A in batches, one after the other
                for _ in range(BATCHES):
                    recorded = await post(a, figures.service, RECORD, _impressions(figures.campaign, 3))
                    assert recorded["data"]["recordCampaignEvents"] == {"accepted": 3, "userErrors": []}
                # then the dashboard is pushed running totals until it shows them all
                seen = []
                while not seen or seen[-1]["campaignMetrics"]["impressions"] < 3 * BATCHES:
                    seen.append(await anext(pushes))
            await pushes.aclose()

    assert first == {"campaignMetrics": {"impressions": 0, "clicks": 0, "clickThroughRate": None}}
    assert seen[-1] == {"campaignMetrics": {"impressions": 30, "clicks": 0, "clickThroughRate": 0.0}}
    # coalesced: at most one push every 2 s, not one per batch
    assert len(seen) < BATCHES / 2
    totals = [push["campaignMetrics"]["impressions"] for push in seen]
    assert totals == sorted(set(totals))


async def test_a_merchant_cannot_watch_another_merchants_campaign_metrics(
    figures: Figures, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with serve(scratch_db_url, services["redis_url"], tmp_path / "b.log", REDIS_KEY_PREFIX=redis_prefix) as b:
        async with gql_client(b, figures.merchant) as session:
            request = GraphQLRequest(METRICS, variable_values={"id": figures.other_campaign})
            with pytest.raises(TransportQueryError) as refused:
                async with asyncio.timeout(DEADLINE_S):
                    await anext(session.subscribe(request))

    # refused as if it did not exist, as the `campaign` query answers null
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


def _variants(message: dict[str, Any]) -> dict[str, tuple[int, int]]:
    results = message["payload"]["data"]["experimentResults"]
    return {v["key"]: (v["users"], v["conversions"]) for v in results["variants"]}


async def test_experiment_results_are_pushed_as_users_are_assigned_and_convert(
    figures: Figures, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with two_servers(scratch_db_url, services["redis_url"], tmp_path, redis_prefix) as (a, b):
        watched = subscribed(b, figures.marketer, RESULTS, {"id": figures.experiment})
        async with watched as page, asyncio.timeout(DEADLINE_S):
            # given a marketer's results page on B: nobody assigned yet
            first = await page.next()
            # when three users are assigned on A, and one of them converts
            for user in figures.customers:
                answer = await post(a, figures.service, ASSIGN, {"test": figures.experiment, "user": user})
                assert answer["data"]["assignVariant"]["userErrors"] == []
            converted = await post(a, figures.service, CONVERT, {"test": figures.experiment, "user": user})
            assert converted["data"]["recordConversion"]["userErrors"] == []
            # then the page is pushed the results until they show all of it
            last = first
            while (
                sum(u for u, _ in _variants(last).values()) < 3
                or sum(c for _, c in _variants(last).values()) < 1
            ):
                last = await page.next()

    assert first["payload"]["data"]["experimentResults"]["source"] == "LIVE"
    assert _variants(first) == {"control": (0, 0), "treatment": (0, 0)}
    users = sum(u for u, _ in _variants(last).values())
    conversions = sum(c for _, c in _variants(last).values())
    assert (users, conversions) == (3, 1)


async def test_a_customer_cannot_watch_experiment_results(
    figures: Figures, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    with serve(scratch_db_url, services["redis_url"], tmp_path / "b.log", REDIS_KEY_PREFIX=redis_prefix) as b:
        watched = subscribed(b, figures.customer, RESULTS, {"id": figures.experiment})
        async with watched as page, asyncio.timeout(DEADLINE_S):
            refused = await page.next()

    errors = refused["errors"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
