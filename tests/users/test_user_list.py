"""`users`: the admin's searchable, filterable, sorted user list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, MARKETER, SERVICE, customer, nodes

USERS = """
query (
  $filter: UserFilterInput, $sort: UserSortInput, $first: Int, $after: String, $last: Int, $before: String
) {
  users(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { node { name email loyaltyTier } }
  }
}
"""
EMAILS = (
    "query ($filter: UserFilterInput) { users(filter: $filter, first: 100) { edges { node { email } } } }"
)
T = datetime(2024, 2, 1, tzinfo=UTC)


def _emails(result) -> set[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return {n["email"] for n in nodes(result.data["users"])}


async def test_users_is_refused_to_everyone_but_admins(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    refused = [MARKETER, Viewer(role=Role.ANALYST, user_id=1), customer(user.id), SERVICE, ANONYMOUS]
    for viewer in refused:
        result = await gql(USERS, viewer=viewer)
        assert result.data == {"users": None}, viewer
        assert codes(result) == {"FORBIDDEN"}, viewer


async def test_search_matches_words_of_the_name(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given users with distinct names
    zelda = await f.make_user(db, name="Zelda Quarrington")
    await f.make_user(db, name="Zachary Quill")

    # when the admin searches a word of one name
    result = await gql(EMAILS, {"filter": {"search": "quarrington"}}, viewer=ADMIN)

    # then only that user matches
    assert _emails(result) == {zelda.email}


async def test_search_matches_an_email_prefix_case_insensitively(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    kim = await f.make_user(db, email="kim.prefixtest@example.com")
    kit = await f.make_user(db, email="kit.prefixtest@example.com")
    await f.make_user(db, email="other.prefixtest@example.com")

    both = await gql(EMAILS, {"filter": {"search": "KI"}}, viewer=ADMIN)
    one = await gql(EMAILS, {"filter": {"search": "kim.pre"}}, viewer=ADMIN)

    assert {kim.email, kit.email} <= _emails(both)
    assert "other.prefixtest@example.com" not in _emails(both)
    assert _emails(one) == {kim.email}


async def test_search_treats_like_wildcards_as_text(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    underscored = await f.make_user(db, email="a_b.wild@example.com")
    await f.make_user(db, email="axb.wild@example.com")

    result = await gql(EMAILS, {"filter": {"search": "a_b"}}, viewer=ADMIN)

    assert _emails(result) == {underscored.email}


async def test_tier_filter_keeps_any_of_the_given_tiers(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    gold = await f.make_user(db, loyalty_tier="gold")
    platinum = await f.make_user(db, loyalty_tier="platinum")
    await f.make_user(db, loyalty_tier="bronze")

    result = await gql(EMAILS, {"filter": {"tier": ["GOLD", "PLATINUM"]}}, viewer=ADMIN)

    assert _emails(result) == {gold.email, platinum.email}


async def test_search_and_tier_combine(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    wanted = await f.make_user(db, name="Olga Combo", loyalty_tier="silver")
    await f.make_user(db, name="Oscar Combo", loyalty_tier="gold")

    result = await gql(EMAILS, {"filter": {"search": "combo", "tier": ["SILVER"]}}, viewer=ADMIN)

    assert _emails(result) == {wanted.email}


async def test_newest_first_by_default_paged_with_cursors(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given five users created a day apart
    users = [await f.make_user(db, created_at=T + timedelta(days=i)) for i in range(5)]
    newest_first = [u.email for u in reversed(users)]

    # when the admin pages two at a time, then goes back from the last page
    first = await gql(USERS, {"first": 2}, viewer=ADMIN)
    page = first.data["users"]
    second = await gql(USERS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, viewer=ADMIN)
    back = await gql(
        USERS, {"last": 2, "before": second.data["users"]["pageInfo"]["startCursor"]}, viewer=ADMIN
    )

    # then the pages follow the order, and know what lies around them
    assert page["totalCount"] == 5
    assert [n["email"] for n in nodes(page)] == newest_first[:2]
    assert page["pageInfo"] == {**page["pageInfo"], "hasNextPage": True, "hasPreviousPage": False}
    assert [n["email"] for n in nodes(second.data["users"])] == newest_first[2:4]
    assert [n["email"] for n in nodes(back.data["users"])] == newest_first[:2]


async def test_sort_by_name_keeps_erased_users_in_the_order(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given named users and an erased one (no name)
    await f.make_user(db, name="Bea")
    await f.make_user(db, name="Al")
    await f.make_user(db, name=None, email=None, deleted_at=T)
    sort = {"field": "NAME", "descending": False}

    # when the admin pages by name one at a time
    seen: list[str | None] = []
    after = None
    for _ in range(4):
        result = await gql(USERS, {"sort": sort, "first": 1, "after": after}, viewer=ADMIN)
        assert result.errors is None, result.errors
        seen += [n["name"] for n in nodes(result.data["users"])]
        after = result.data["users"]["pageInfo"]["endCursor"]

    # then the nameless user comes first and none is skipped or repeated
    assert seen == [None, "Al", "Bea"]


async def test_bad_page_arguments_are_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    for variables in ({"first": 101}, {"first": 1, "last": 1}, {"after": "not-a-cursor"}):
        result = await gql(USERS, variables, viewer=ADMIN)
        assert codes(result) == {"BAD_USER_INPUT"}, variables


async def test_search_text_with_query_syntax_is_not_an_error(gql) -> None:  # type: ignore[no-untyped-def]
    for text in ("!!!", "a:b & c", "'", "\\", '"unclosed'):
        result = await gql(EMAILS, {"filter": {"search": text}}, viewer=ADMIN)
        assert result.errors is None, (text, result.errors)
