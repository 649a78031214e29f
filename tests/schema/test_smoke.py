"""End-to-end reads through the schema as different viewers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN, user_id=1)

CAMPAIGNS = """
query ($first: Int, $after: String) {
  campaigns(first: $first, after: $after, sort: {field: NAME, descending: false}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name merchant { name category { name } } performance { impressions roas } } }
  }
}
"""

NODE = "query ($id: ID!) { node(id: $id) { id ... on Campaign { name } } }"


async def test_campaigns_page_through_keyset_cursors(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three campaigns with known names
    for name in ("Alpha", "Bravo", "Charlie"):
        await f.make_campaign(db, name=f"zz-{name}")

    # when paging two at a time, sorted by name
    first = await gql(CAMPAIGNS, {"first": 2}, viewer=ADMIN)
    assert first.errors is None, first.errors
    conn = first.data["campaigns"]
    names = [e["node"]["name"] for e in conn["edges"]]

    # then pages are ordered, and the cursor continues where the page ended
    assert conn["totalCount"] == 3
    assert names == ["zz-Alpha", "zz-Bravo"]
    assert conn["pageInfo"]["hasNextPage"] is True
    second = await gql(CAMPAIGNS, {"first": 100, "after": conn["pageInfo"]["endCursor"]}, viewer=ADMIN)
    assert [e["node"]["name"] for e in second.data["campaigns"]["edges"]] == ["zz-Charlie"]
    assert second.data["campaigns"]["pageInfo"]["hasNextPage"] is False


async def test_anonymous_cannot_list_campaigns(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CAMPAIGNS, {"first": 1}, viewer=ANONYMOUS)
    assert result.data == {"campaigns": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_merchant_sees_only_its_own_campaigns_by_node(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    own = await f.make_campaign(db, merchant_id=mine.id)
    theirs = await f.make_campaign(db, merchant_id=other.id)
    viewer = Viewer(role=Role.MERCHANT, user_id=1, merchant_id=mine.id)

    seen = await gql(NODE, {"id": relay.to_base64("Campaign", own.id)}, viewer=viewer)
    hidden = await gql(NODE, {"id": relay.to_base64("Campaign", theirs.id)}, viewer=viewer)

    assert seen.data["node"]["name"] == own.name
    assert hidden.errors is None and hidden.data["node"] is None


async def test_first_over_the_maximum_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CAMPAIGNS, {"first": 101}, viewer=ADMIN)
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


MIXED = "{ merchantCategories { name } campaigns(first: 1) { totalCount } }"


async def test_a_forbidden_field_is_null_without_swallowing_its_siblings(gql) -> None:  # type: ignore[no-untyped-def]
    # given an anonymous caller asking for one allowed and one forbidden root field
    result = await gql(MIXED, viewer=ANONYMOUS)

    # then the allowed field is answered and only the forbidden one is null, with a FORBIDDEN error
    assert len(result.data["merchantCategories"]) == 8
    assert result.data["campaigns"] is None
    assert [(e.path, e.extensions["code"]) for e in result.errors] == [(["campaigns"], "FORBIDDEN")]
