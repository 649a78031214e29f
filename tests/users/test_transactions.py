"""A user's transactions: filters, keyset pages, relations and who may read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.users import User
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, customer, gid, nodes

TRANSACTIONS = """
query ($filter: TransactionFilterInput, $first: Int, $after: String, $last: Int, $before: String) {
  me {
    transactions(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id amount category status occurredAt } }
    }
  }
}
"""
RELATIONS = """
{ me { transactions { edges { node {
  currency merchant { name } account { lastFour balance kind status } campaign { name }
} } } } }
"""
NO_CAMPAIGN = "{ me { transactions { edges { node { merchant { name } account { lastFour } } } } } }"
OF_USER = "query ($id: ID!) { user(id: $id) { transactions { totalCount edges { node { amount } } } } }"
T = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


async def _history(db: AsyncSession) -> tuple[User, list[int]]:
    """A customer with six transactions a day apart (newest last), amounts 10..60, two categories."""
    user = await f.make_user(db)
    account = await f.make_account(db, user_id=user.id)
    ids = []
    for i in range(6):
        row = await f.make_transaction(
            db,
            user_id=user.id,
            account_id=account.id,
            amount=Decimal(10 * (i + 1)),
            category="fuel" if i % 2 else "dining",
            occurred_at=T + timedelta(days=i),
        )
        ids.append(row.id)
    return user, ids


def _ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [n["id"] for n in nodes(result.data["me"]["transactions"])]


def _gids(ids: list[int]) -> list[str]:
    return [gid("Transaction", i) for i in ids]


async def test_newest_first_in_keyset_pages_both_ways(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given six transactions
    user, ids = await _history(db)
    newest_first = _gids(list(reversed(ids)))
    viewer = customer(user.id)

    # when the customer pages forward two at a time, then back from the third page
    pages, after = [], None
    for _ in range(3):
        result = await gql(TRANSACTIONS, {"first": 2, "after": after}, viewer=viewer)
        pages.append(_ids(result))
        info = result.data["me"]["transactions"]["pageInfo"]
        after = info["endCursor"]
    back = await gql(TRANSACTIONS, {"last": 2, "before": info["startCursor"]}, viewer=viewer)

    # then the pages partition the history in order, and the last page knows it is last
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:6]]
    assert info["hasNextPage"] is False and info["hasPreviousPage"] is True
    assert _ids(back) == newest_first[2:4]
    assert back.data["me"]["transactions"]["pageInfo"]["hasNextPage"] is True
    assert result.data["me"]["transactions"]["totalCount"] == 6


async def test_last_without_a_cursor_is_the_oldest_page(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, ids = await _history(db)
    result = await gql(TRANSACTIONS, {"last": 2}, viewer=customer(user.id))
    assert _ids(result) == _gids([ids[1], ids[0]])
    assert result.data["me"]["transactions"]["pageInfo"]["hasPreviousPage"] is True


async def test_date_range_includes_both_days(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, ids = await _history(db)
    days = {"start": "2024-03-11", "end": "2024-03-13"}

    result = await gql(TRANSACTIONS, {"filter": {"dateRange": days}}, viewer=customer(user.id))

    assert _ids(result) == _gids([ids[3], ids[2], ids[1]])
    assert result.data["me"]["transactions"]["totalCount"] == 3


async def test_amount_range_is_inclusive(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, ids = await _history(db)
    amounts = {"minAmount": "20", "maxAmount": "40.00"}

    result = await gql(TRANSACTIONS, {"filter": amounts}, viewer=customer(user.id))

    assert _ids(result) == _gids([ids[3], ids[2], ids[1]])
    assert [n["amount"] for n in nodes(result.data["me"]["transactions"])] == ["40.00", "30.00", "20.00"]


async def test_category_and_status_filters(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, ids = await _history(db)
    refunded = await f.make_transaction(
        db, user_id=user.id, category="travel", status="refunded", occurred_at=T
    )

    fuel = await gql(TRANSACTIONS, {"filter": {"category": ["FUEL"]}}, viewer=customer(user.id))
    travel = await gql(TRANSACTIONS, {"filter": {"status": ["REFUNDED"]}}, viewer=customer(user.id))

    assert _ids(fuel) == _gids([ids[5], ids[3], ids[1]])
    assert {n["category"] for n in nodes(fuel.data["me"]["transactions"])} == {"FUEL"}
    assert _ids(travel) == _gids([refunded.id])


async def test_merchant_filter(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, _ = await _history(db)
    merchant = await f.make_merchant(db)
    bought = await f.make_transaction(db, user_id=user.id, merchant_id=merchant.id, occurred_at=T)

    result = await gql(
        TRANSACTIONS, {"filter": {"merchantId": gid("Merchant", merchant.id)}}, viewer=customer(user.id)
    )

    assert _ids(result) == _gids([bought.id])


async def test_filters_combine_with_pages(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, ids = await _history(db)
    dining = {"category": ["DINING"], "minAmount": "20"}

    first = await gql(TRANSACTIONS, {"filter": dining, "first": 1}, viewer=customer(user.id))
    cursor = first.data["me"]["transactions"]["pageInfo"]["endCursor"]
    rest = await gql(TRANSACTIONS, {"filter": dining, "first": 5, "after": cursor}, viewer=customer(user.id))

    assert _ids(first) == _gids([ids[4]])
    assert first.data["me"]["transactions"]["totalCount"] == 2
    assert _ids(rest) == _gids([ids[2]])


async def test_bad_filters_are_bad_user_input(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    bad = [
        {"dateRange": {"start": "2024-03-02", "end": "2024-03-01"}},
        {"minAmount": "-1"},
        {"minAmount": "50", "maxAmount": "10"},
        {"merchantId": gid("Campaign", 1)},
    ]
    for filter in bad:
        result = await gql(TRANSACTIONS, {"filter": filter}, viewer=customer(user.id))
        assert codes(result) == {"BAD_USER_INPUT"}, filter
    result = await gql(TRANSACTIONS, {"first": 101}, viewer=customer(user.id))
    assert codes(result) == {"BAD_USER_INPUT"}


async def test_relations_of_a_transaction(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer's transaction at a merchant, credited to a campaign
    user = await f.make_user(db)
    merchant = await f.make_merchant(db, name="Corner Cafe")
    campaign = await f.make_campaign(db, name="Spring cashback")
    account = await f.make_account(db, user_id=user.id, last_four="9876", balance=Decimal("12.50"))
    await f.make_transaction(
        db, user_id=user.id, account_id=account.id, merchant_id=merchant.id, campaign_id=campaign.id
    )

    # when the customer reads its relations without and with the campaign
    plain = await gql(NO_CAMPAIGN, viewer=customer(user.id))
    with_campaign = await gql(RELATIONS, viewer=customer(user.id))
    as_admin = await gql(
        "query ($id: ID!) { user(id: $id) { transactions { edges { node { campaign { name } } } } } }",
        {"id": gid("User", user.id)},
        viewer=ADMIN,
    )

    # then merchant and account come back; the campaign only to the admin
    assert plain.errors is None, plain.errors
    assert nodes(plain.data["me"]["transactions"]) == [
        {"merchant": {"name": "Corner Cafe"}, "account": {"lastFour": "9876"}}
    ]
    node = nodes(with_campaign.data["me"]["transactions"])[0]
    assert node["account"] == {"lastFour": "9876", "balance": "12.50", "kind": "CHECKING", "status": "ACTIVE"}
    assert node["campaign"] is None and codes(with_campaign) == {"FORBIDDEN"}
    assert nodes(as_admin.data["user"]["transactions"]) == [{"campaign": {"name": "Spring cashback"}}]


async def test_admin_reads_any_users_transactions(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user, _ = await _history(db)
    result = await gql(OF_USER, {"id": gid("User", user.id)}, viewer=ADMIN)
    assert result.errors is None, result.errors
    assert result.data["user"]["transactions"]["totalCount"] == 6


async def test_staff_other_than_admins_cannot_read_their_own_transactions(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    marketer = await f.make_user(db, role="marketer")
    await f.make_transaction(db, user_id=marketer.id)

    result = await gql(TRANSACTIONS, viewer=Viewer(role=Role.MARKETER, user_id=marketer.id))

    assert result.data["me"] == {"transactions": None}
    assert codes(result) == {"FORBIDDEN"}
