"""The read path hands the schema rows, not ORM entities: a query operation loads no mapped object
(issue 10), and README query 1 costs no more statements than it did with entities."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import PROJECT_ROOT
from core.viewer import Role, Viewer
from tests.models import factories as f
from tests.schema.read_world import README_DAYS, START, World, build_world, entities_loaded
from tests.support import counting

CAMPAIGNS_PAGE = re.findall(r"```graphql\n(.*?)```", (PROJECT_ROOT / "README.md").read_text("utf-8"), re.S)[0]
# README query 1: the page, totalCount, then one batch per relation (merchant, category, experiments,
# variants, dailyMetrics, performance).
CAMPAIGNS_PAGE_STATEMENTS = 8
RANGE = {"start": README_DAYS[0].isoformat(), "end": README_DAYS[1].isoformat()}

# One document per domain, each reaching every loader and root list of the domain as an admin.
DOCUMENTS = {
    "users": """
    query ($user: ID!) {
      me { id name }
      users { totalCount edges { node { id email } } }
      user(id: $user) {
        accounts { id balance }
        transactions { totalCount edges { node { id merchant { id } account { id } campaign { id } } } }
        rewardsLedger { totalCount edges { node { id points } } }
        recommendedMerchants { affinityScore merchant { id name } }
        optimalSendTime { hour }
      }
    }""",
    "campaigns": """
    query ($range: DateRangeInput!) {
      campaigns { totalCount edges { node {
        id merchant { id category { id } partnership { isPartner } }
        experiments { id campaign { id } }
        optimizations { id }
        dailyMetrics(range: $range) { date revenue }
        performance(range: $range) { roas }
        segments(range: $range) { segmentName }
        hourly: trend(granularity: HOUR, range: $range) { period }
        weekly: trend(granularity: WEEK, range: $range) { period }
      } } }
    }""",
    "experiments": """
    {
      experiments { totalCount edges { node {
        id variants { key assignedUsers } results { source winnerReason } myAssignment { variantKey }
      } } }
      myExperimentAssignments { experimentKey variantKey }
    }""",
    "flags": """
    query ($range: DateRangeInput!, $key: String!) {
      flags { totalCount edges { node {
        id rollouts { variantKey }
        auditLog { totalCount edges { node { id ipAddress } } }
        usage(range: $range) { date }
        usageSummary(range: $range) { totalChecks }
      } } }
      flag(key: $key) { id }
      evaluateFlags(context: {sessionId: "s"}) { key value }
      flagUsage(range: $range) { edges { node { flagKey summary { totalChecks } days { date } } } }
    }""",
    "merchants": """
    {
      merchantCategories { id }
      merchants { totalCount edges { node { id category { id } } } }
      near: merchants(filter: {near: {latitude: 40.7, longitude: -74.0, radiusKm: 5}}) {
        totalCount edges { node { id distanceKm } }
      }
      byName: merchants(sort: NAME, filter: {near: {latitude: 40.7, longitude: -74.0, radiusKm: 5}}) {
        edges { node { id distanceKm } }
      }
    }""",
    "analytics": """
    query ($range: DateRangeInput!) {
      topCampaigns(metric: REVENUE, range: $range) { value campaign { id } }
      platformOverview(range: $range) { activeCampaigns topCampaigns { campaign { id } } }
    }""",
    "admin": """
    { auditLog { totalCount edges { node { action ipAddress } } } }
    """,
}


@pytest.fixture
async def world(db: AsyncSession) -> World:
    return await build_world(db)


async def _campaigns_page_rows(db: AsyncSession, n: int) -> None:
    """n running campaigns, each with a merchant, an experiment of two variants, README query 1's days."""
    for i in range(n):
        merchant = await f.make_merchant(db)
        campaign = await f.make_campaign(
            db,
            merchant_id=merchant.id,
            status="running",
            starts_at=START,
            ends_at=START + dt.timedelta(days=90),
        )
        test = await f.make_ab_test(db, campaign_id=campaign.id)
        for key in ("control", "treatment"):
            await f.make_ab_test_variant(db, test_id=test.id, key=key, is_control=key == "control")
        day = README_DAYS[0]
        while day <= README_DAYS[1]:
            await f.make_campaign_daily(
                db,
                campaign_id=campaign.id,
                date=day,
                impressions=1000 + i,
                clicks=50,
                conversions=5,
                revenue=Decimal("250.00"),
                spend=Decimal("100.00"),
            )
            day += dt.timedelta(days=1)
    db.expunge_all()


def _variables(document: str, world: World) -> dict[str, Any]:
    given = {"user": world.ids["User"], "range": RANGE, "key": world.flag_key}
    return {name: value for name, value in given.items() if f"${name}" in document}


def _nulls(value: Any, path: str = "") -> Iterator[str]:
    """Paths of the null values in a result."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _nulls(item, f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nulls(item, f"{path}[{i}]")
    elif value is None:
        yield path


async def test_the_campaigns_page_loads_no_entity_in_its_statements(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three running campaigns with merchants, experiments and README query 1's days of metrics
    await _campaigns_page_rows(db, 3)

    # when README query 1 runs
    with entities_loaded() as loaded, counting((await db.connection()).sync_connection) as statements:
        result = await gql(CAMPAIGNS_PAGE, viewer=Viewer(role=Role.ADMIN, user_id=1))

    # then it answers in full from rows: no ORM entity, and no more statements than before
    assert result.errors is None, result.errors
    edges = result.data["campaigns"]["edges"]
    assert len(edges) == 3
    assert all(len(e["node"]["dailyMetrics"]) == 30 for e in edges)
    assert all(e["node"]["merchant"]["category"]["name"] for e in edges)
    assert all(len(e["node"]["experiments"][0]["variants"]) == 2 for e in edges)
    assert loaded == []
    assert len(statements) <= CAMPAIGNS_PAGE_STATEMENTS, statements


@pytest.mark.parametrize("domain", sorted(DOCUMENTS))
async def test_a_query_of_every_domain_loads_no_entity(world: World, domain: str, gql) -> None:  # type: ignore[no-untyped-def]
    # given one row of every kind (expunged) and a document reaching the domain's loaders and lists
    document = DOCUMENTS[domain]

    # when an admin runs it
    with entities_loaded() as loaded:
        result = await gql(document, _variables(document, world), viewer=world.viewer)

    # then every field resolved (nothing null: each relation found its row), and from rows only
    assert result.errors is None, result.errors
    assert list(_nulls(result.data)) == []
    assert loaded == []


async def test_node_resolves_every_type_from_rows(world: World, gql) -> None:  # type: ignore[no-untyped-def]
    # given a global id of every node type
    ids = list(world.ids.values())

    # when nodes(ids) resolves them all
    with entities_loaded() as loaded:
        result = await gql(
            "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, viewer=world.viewer
        )

    # then each resolved, through its by-id loader's rows
    assert result.errors is None, result.errors
    assert [n["id"] for n in result.data["nodes"]] == ids
    assert loaded == []
