"""The experiment list and single reads: filters, keyset pages, relations and who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.experiments.support import ADMIN, ANALYST, assign, make_experiment
from tests.models import factories as f

EXPERIMENTS = """
query ($filter: ExperimentFilterInput, $first: Int, $after: String, $last: Int, $before: String) {
  experiments(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id key status campaign { name } } }
  }
}
"""
EXPERIMENT = """
query ($id: ID!) {
  experiment(id: $id) { key name status confidenceLevel campaign { id name } variants { key weight } }
}
"""
VARIANTS = "query ($id: ID!) { experiment(id: $id) { variants { key name isControl weight assignedUsers } } }"
NODE = "query ($id: ID!) { node(id: $id) { id ... on Experiment { key } } }"
CAMPAIGN_EXPERIMENTS = "query ($id: ID!) { campaign(id: $id) { experiments { key } } }"


def _keys(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [e["node"]["key"] for e in result.data["experiments"]["edges"]]


async def _three_experiments(db: AsyncSession) -> list[str]:
    """Three experiments created a day apart; returns their keys newest first."""
    keys = []
    for day, status in enumerate(("running", "completed", "running")):
        test = await f.make_ab_test(db, status=status, created_at=f.T0 + dt.timedelta(days=day))
        keys.append(test.key)
    return keys[::-1]


async def test_experiments_are_listed_newest_first_a_page_at_a_time(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three experiments created on different days
    newest_first = await _three_experiments(db)

    # when paging two at a time, then backwards from the end
    first = await gql(EXPERIMENTS, {"first": 2}, viewer=ANALYST)
    page = first.data["experiments"]
    second = await gql(EXPERIMENTS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, viewer=ANALYST)
    back = await gql(
        EXPERIMENTS,
        {"last": 2, "before": second.data["experiments"]["pageInfo"]["startCursor"]},
        viewer=ANALYST,
    )

    # then the pages follow created_at descending and join without gaps
    assert _keys(first) == newest_first[:2]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    assert _keys(second) == newest_first[2:]
    assert second.data["experiments"]["pageInfo"]["hasNextPage"] is False
    assert _keys(back) == newest_first[:2]


async def test_experiments_filter_by_status_and_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given experiments of two statuses, one of them attached to a campaign
    campaign = await f.make_campaign(db, name="Spring sale")
    attached = await f.make_ab_test(db, status="running", campaign_id=campaign.id)
    loose = await f.make_ab_test(db, status="running")
    done = await f.make_ab_test(db, status="completed")
    campaign_id = relay.to_base64("Campaign", campaign.id)

    # when filtering
    running = await gql(EXPERIMENTS, {"filter": {"status": ["RUNNING"]}}, viewer=ADMIN)
    finished = await gql(EXPERIMENTS, {"filter": {"status": ["COMPLETED", "ARCHIVED"]}}, viewer=ADMIN)
    of_campaign = await gql(EXPERIMENTS, {"filter": {"campaignId": campaign_id}}, viewer=ADMIN)
    both = await gql(EXPERIMENTS, {"filter": {"campaignId": campaign_id, "status": ["DRAFT"]}}, viewer=ADMIN)

    # then each filter keeps only what matches, and the campaign relation resolves
    assert set(_keys(running)) == {attached.key, loose.key}
    assert _keys(finished) == [done.key]
    assert _keys(of_campaign) == [attached.key]
    assert of_campaign.data["experiments"]["edges"][0]["node"]["campaign"] == {"name": "Spring sale"}
    assert _keys(both) == [] and both.data["experiments"]["totalCount"] == 0


@pytest.mark.parametrize(
    "variables",
    [
        {"filter": {"campaignId": "not-an-id"}},
        {"filter": {"campaignId": relay.to_base64("Merchant", 1)}},
        {"first": 101},
        {"after": "garbage"},
    ],
    ids=["undecodable-campaign", "merchant-id-as-campaign", "page-too-large", "bad-cursor"],
)
async def test_bad_arguments_are_bad_user_input(gql, variables: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    result = await gql(EXPERIMENTS, variables, viewer=ADMIN)
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_experiment_by_id_and_by_node(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given an experiment with two variants, attached to a campaign
    campaign = await f.make_campaign(db)
    test, _ = await make_experiment(db, weights=(600, 400), campaign_id=campaign.id, confidence_level=90.0)
    gid = relay.to_base64("Experiment", test.id)

    # when read by id and through node
    one = await gql(EXPERIMENT, {"id": gid}, viewer=ANALYST)
    node = await gql(NODE, {"id": gid}, viewer=ANALYST)
    missing = await gql(EXPERIMENT, {"id": relay.to_base64("Experiment", f.MISSING_ID)}, viewer=ANALYST)
    other_type = await gql(EXPERIMENT, {"id": relay.to_base64("Campaign", campaign.id)}, viewer=ANALYST)

    # then both find it, and unknown ids are null rather than errors
    assert one.errors is None, one.errors
    assert one.data["experiment"] == {
        "key": test.key,
        "name": test.name,
        "status": "DRAFT",
        "confidenceLevel": 90.0,
        "campaign": {"id": relay.to_base64("Campaign", campaign.id), "name": campaign.name},
        "variants": [{"key": "control", "weight": 600}, {"key": "variant_a", "weight": 400}],
    }
    assert node.data["node"] == {"id": gid, "key": test.key}
    assert missing.errors is None and missing.data["experiment"] is None
    assert other_type.errors is None and other_type.data["experiment"] is None


async def test_campaign_lists_its_experiments(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    test = await f.make_ab_test(db, campaign_id=campaign.id)

    result = await gql(CAMPAIGN_EXPERIMENTS, {"id": relay.to_base64("Campaign", campaign.id)}, viewer=ADMIN)

    assert result.errors is None, result.errors
    assert result.data["campaign"]["experiments"] == [{"key": test.key}]


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.CUSTOMER, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        Viewer(role=Role.SERVICE),
        ANONYMOUS,
    ],
    ids=lambda v: v.role.value,
)
async def test_only_staff_see_experiments(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    # given an experiment
    test = await f.make_ab_test(db)
    gid = relay.to_base64("Experiment", test.id)

    # when anyone but staff asks for it, as a list, by id or as a node
    listed = await gql(EXPERIMENTS, {}, viewer=viewer)
    one = await gql(EXPERIMENT, {"id": gid}, viewer=viewer)
    node = await gql(NODE, {"id": gid}, viewer=viewer)

    # then each is refused
    for result in (listed, one, node):
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert listed.data is None or listed.data["experiments"] is None
    assert node.data["node"] is None


async def test_variants_carry_weights_and_assigned_users(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a 70/30 test where three users joined the control and nobody the variant
    test, (control, _) = await make_experiment(db, weights=(700, 300))
    await assign(db, control, 3)

    result = await gql(VARIANTS, {"id": relay.to_base64("Experiment", test.id)}, viewer=ANALYST)

    assert result.errors is None, result.errors
    assert result.data["experiment"]["variants"] == [
        {"key": "control", "name": "control", "isControl": True, "weight": 700, "assignedUsers": 3},
        {"key": "variant_a", "name": "variant_a", "isControl": False, "weight": 300, "assignedUsers": 0},
    ]


async def test_undecodable_experiment_id_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    for bad in ("garbage", relay.to_base64("Experiment", "abc")):
        result = await gql(EXPERIMENT, {"id": bad}, viewer=ADMIN)
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
