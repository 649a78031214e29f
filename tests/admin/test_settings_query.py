"""The settings query: every setting by key, a page at a time, narrowed by a key prefix, admins only."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.merchants.support import ADMIN, others
from tests.models import factories as f

SETTINGS = """
query ($prefix: String, $first: Int, $after: String) {
  settings(keyPrefix: $prefix, first: $first, after: $after) {
    totalCount
    edges { cursor node { key value description } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _keys(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [edge["node"]["key"] for edge in result.data["settings"]["edges"]]


async def test_settings_are_listed_by_key_a_page_at_a_time(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    for key in ("notifications.quiet_hours", "loyalty.expiry_days", "loyalty.points_per_dollar"):
        await f.make_setting(db, key=key, value={"k": key}, description=f"About {key}")

    first = await gql(SETTINGS, {"first": 2}, viewer=ADMIN)
    cursor = first.data["settings"]["pageInfo"]["endCursor"]
    rest = await gql(SETTINGS, {"first": 2, "after": cursor}, viewer=ADMIN)

    assert _keys(first) == ["loyalty.expiry_days", "loyalty.points_per_dollar"]
    assert first.data["settings"]["totalCount"] == 3
    assert first.data["settings"]["pageInfo"]["hasNextPage"] is True
    assert first.data["settings"]["edges"][0]["node"]["value"] == {"k": "loyalty.expiry_days"}
    assert _keys(rest) == ["notifications.quiet_hours"]
    assert rest.data["settings"]["pageInfo"]["hasNextPage"] is False


async def test_a_prefix_narrows_the_keys_and_its_underscore_is_literal(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    for key in ("loyalty.expiry_days", "loyalty.points", "loyaltyx", "a_b", "axb"):
        await f.make_setting(db, key=key)

    loyalty = await gql(SETTINGS, {"prefix": "loyalty."}, viewer=ADMIN)
    underscore = await gql(SETTINGS, {"prefix": "a_"}, viewer=ADMIN)

    assert _keys(loyalty) == ["loyalty.expiry_days", "loyalty.points"]
    assert loyalty.data["settings"]["totalCount"] == 2
    assert _keys(underscore) == ["a_b"]


async def test_a_bad_prefix_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(SETTINGS, {"prefix": "a\x00b"}, viewer=ADMIN)

    assert result.errors is not None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("viewer", others(Role.ADMIN), ids=lambda v: v.role.value)
async def test_only_admins_read_settings(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await f.make_setting(db)

    result = await gql(SETTINGS, {}, viewer=viewer)

    assert result.data["settings"] is None
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
