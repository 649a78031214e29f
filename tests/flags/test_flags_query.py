"""The flag list, one flag by key and flags by node id, as staff and as the roles refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Viewer
from tests.flags.support import ADMIN, ANALYST, NOT_STAFF, STAFF_VIEWERS, utc_now, without_seeded_flags
from tests.models import factories as f
from tests.support import codes

FLAGS = """
query ($filter: FlagFilterInput, $first: Int, $after: String, $last: Int, $before: String) {
  flags(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id key category type enabled rolloutPercentage lifetimeDays isStale } }
  }
}
"""
FLAG = (
    "query ($key: String!) { flag(key: $key) { id key name rollouts { segment variantKey weight active } } }"
)
NODE = "query ($id: ID!) { node(id: $id) { id ... on FeatureFlag { key isStale } } }"


def _keys(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [edge["node"]["key"] for edge in result.data["flags"]["edges"]]


async def test_flags_are_listed_by_key_a_page_at_a_time(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given five flags created out of key order
    await without_seeded_flags(db)
    for key in ("echo", "alpha", "delta", "bravo", "charlie"):
        await f.make_feature_flag(db, key=key)

    # when paging two at a time forwards
    first = await gql(FLAGS, {"first": 2}, viewer=ADMIN)
    end = first.data["flags"]["pageInfo"]["endCursor"]
    second = await gql(FLAGS, {"first": 2, "after": end}, viewer=ADMIN)
    third = await gql(
        FLAGS, {"first": 2, "after": second.data["flags"]["pageInfo"]["endCursor"]}, viewer=ADMIN
    )

    # then the pages follow the key order and say where they are
    assert _keys(first) == ["alpha", "bravo"]
    assert _keys(second) == ["charlie", "delta"]
    assert _keys(third) == ["echo"]
    assert first.data["flags"]["totalCount"] == 5
    assert first.data["flags"]["pageInfo"]["hasNextPage"] is True
    assert second.data["flags"]["pageInfo"]["hasPreviousPage"] is True
    assert third.data["flags"]["pageInfo"]["hasNextPage"] is False


async def test_flags_page_backwards_with_last_and_before(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await without_seeded_flags(db)
    for key in ("alpha", "bravo", "charlie", "delta"):
        await f.make_feature_flag(db, key=key)

    last = await gql(FLAGS, {"last": 2}, viewer=ADMIN)
    start = last.data["flags"]["pageInfo"]["startCursor"]
    before = await gql(FLAGS, {"last": 2, "before": start}, viewer=ADMIN)

    assert _keys(last) == ["charlie", "delta"]
    assert last.data["flags"]["pageInfo"]["hasPreviousPage"] is True
    assert _keys(before) == ["alpha", "bravo"]
    assert before.data["flags"]["pageInfo"]["hasPreviousPage"] is False


async def test_flags_filter_by_category_and_enabled(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given flags of several categories, on and off
    await without_seeded_flags(db)
    await f.make_feature_flag(db, key="ui_on", category="ui", enabled=True)
    await f.make_feature_flag(db, key="ui_off", category="ui", enabled=False)
    await f.make_feature_flag(db, key="rollout_on", category="rollout", enabled=True)
    await f.make_feature_flag(db, key="advanced_on", category="advanced", enabled=True)

    # when filtering
    by_category = await gql(FLAGS, {"filter": {"category": ["UI", "ROLLOUT"]}}, viewer=ADMIN)
    enabled_ui = await gql(FLAGS, {"filter": {"category": ["UI"], "enabled": True}}, viewer=ADMIN)
    disabled = await gql(FLAGS, {"filter": {"enabled": False}}, viewer=ADMIN)

    # then only the matching flags come back, with a matching totalCount
    assert _keys(by_category) == ["rollout_on", "ui_off", "ui_on"]
    assert by_category.data["flags"]["totalCount"] == 3
    assert _keys(enabled_ui) == ["ui_on"]
    assert _keys(disabled) == ["ui_off"]


async def test_stale_flags_are_older_than_their_types_lifetime(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given flags of each type, some past their lifetime (release/experiment 40 days, operational 7)
    await without_seeded_flags(db)
    now = utc_now()
    ages = {
        "old_release": ("release", 41),
        "young_release": ("release", 39),
        "old_experiment": ("experiment", 41),
        "old_operational": ("operational", 8),
        "young_operational": ("operational", 6),
        "ancient_kill_switch": ("kill_switch", 4000),
        "ancient_permission": ("permission", 4000),
    }
    for key, (flag_type, days) in ages.items():
        await f.make_feature_flag(db, key=key, type=flag_type, created_at=now - dt.timedelta(days=days))

    # when listing stale and fresh flags
    stale = await gql(FLAGS, {"filter": {"stale": True}}, viewer=ANALYST)
    fresh = await gql(FLAGS, {"filter": {"stale": False}}, viewer=ANALYST)
    every = await gql(FLAGS, {"first": 100}, viewer=ANALYST)

    # then the filter and the isStale field agree with the lifetimes
    assert _keys(stale) == ["old_experiment", "old_operational", "old_release"]
    assert _keys(fresh) == ["ancient_kill_switch", "ancient_permission", "young_operational", "young_release"]
    nodes = {e["node"]["key"]: e["node"] for e in every.data["flags"]["edges"]}
    assert {k for k, n in nodes.items() if n["isStale"]} == {
        "old_experiment",
        "old_operational",
        "old_release",
    }
    assert nodes["old_operational"]["lifetimeDays"] == 7
    assert nodes["old_release"]["lifetimeDays"] == 40
    assert nodes["ancient_kill_switch"]["lifetimeDays"] is None


async def test_flag_by_key_with_its_rollouts(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a flag with a general variant, a segment variant and an inactive one
    flag = await f.make_feature_flag(db, key="checkout_v2")
    await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="a", weight=1000)
    await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="b", weight=1000, user_segment="beta")
    await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="c", weight=0, active=False)

    # when a marketer asks for it by key, and for a key that does not exist
    found = await gql(FLAG, {"key": "checkout_v2"}, viewer=STAFF_VIEWERS[1])
    missing = await gql(FLAG, {"key": "no_such_flag"}, viewer=ADMIN)

    # then the flag comes with its rollouts in creation order; a missing key is null, not an error
    assert found.errors is None, found.errors
    assert found.data["flag"]["key"] == "checkout_v2"
    assert found.data["flag"]["rollouts"] == [
        {"segment": None, "variantKey": "a", "weight": 1000, "active": True},
        {"segment": "beta", "variantKey": "b", "weight": 1000, "active": True},
        {"segment": None, "variantKey": "c", "weight": 0, "active": False},
    ]
    assert missing.errors is None and missing.data["flag"] is None


async def test_flag_by_node_id(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    gid = relay.to_base64("FeatureFlag", flag.id)

    found = await gql(NODE, {"id": gid}, viewer=ADMIN)
    missing = await gql(NODE, {"id": relay.to_base64("FeatureFlag", f.MISSING_ID)}, viewer=ADMIN)

    assert found.data["node"] == {"id": gid, "key": flag.key, "isStale": False}
    assert missing.errors is None and missing.data["node"] is None


@pytest.mark.parametrize("viewer", NOT_STAFF, ids=lambda v: v.role.value)
async def test_only_staff_read_flag_configuration(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    # given a flag
    flag = await f.make_feature_flag(db)

    # when someone who is not staff asks for it in every way
    listed = await gql(FLAGS, {"first": 1}, viewer=viewer)
    by_key = await gql(FLAG, {"key": flag.key}, viewer=viewer)
    by_node = await gql(NODE, {"id": relay.to_base64("FeatureFlag", flag.id)}, viewer=viewer)

    # then each is refused
    for result in (listed, by_key, by_node):
        assert "FORBIDDEN" in codes(result), result.errors


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 101},
        {"first": -1},
        {"first": 1, "last": 1},
        {"after": "not-a-cursor"},
        {"filter": {"category": ["NOPE"]}},
    ],
    ids=["first over 100", "negative first", "first and last", "foreign cursor", "unknown category"],
)
async def test_bad_list_arguments_are_refused(gql, variables: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    result = await gql(FLAGS, variables, viewer=ADMIN)
    assert codes(result) == {"BAD_USER_INPUT"}, result.errors
