"""An admin page of users with every nested relation costs the same statements at any page size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.models import factories as f
from tests.support import counting
from tests.users.support import ADMIN, nodes

USERS = 12
PAGE = """
query ($first: Int!) {
  users(first: $first) { edges { node {
    name email rewardPoints
    accounts { lastFour balance }
    transactions(first: 2, filter: {minAmount: "1"}) {
      totalCount edges { node { amount merchant { name } account { lastFour } } }
    }
    rewardsLedger(first: 2) { totalCount edges { node { points } } }
    recommendedMerchants(first: 2) { affinityScore merchant { name category { name } } }
    optimalSendTime { hour }
  } } }
}
"""
# users page + accounts + transaction page + its count + merchant + account + ledger page + its count
# + recommendations + category + send time.
STATEMENTS = 11


async def _people(db: AsyncSession) -> None:
    t = datetime(2024, 6, 1, tzinfo=UTC)
    shops = [await f.make_merchant(db, category_id=c) for c in (1, 2)]
    for i in range(USERS):
        user = await f.make_user(db, created_at=t + timedelta(minutes=i))
        account = await f.make_account(db, user_id=user.id)
        for j in range(3):
            await f.make_transaction(
                db, user_id=user.id, account_id=account.id, merchant_id=shops[j % 2].id, amount=Decimal(5)
            )
            await f.make_reward_entry(db, user_id=user.id, points=10)
        for shop in shops:
            await f.make_user_merchant_affinity(db, user_id=user.id, merchant_id=shop.id)
        await f.make_user_optimal_send_time(db, user_id=user.id)


@pytest.mark.parametrize("page_size", [2, 10])
async def test_user_page_statement_count_does_not_grow_with_rows(
    db: AsyncSession, gql, page_size: int
) -> None:  # type: ignore[no-untyped-def]
    # given a dozen users, each with accounts, transactions, rewards and insights
    await _people(db)

    # when the admin reads a page of them with every relation
    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(PAGE, {"first": page_size}, viewer=ADMIN)

    # then every row is complete, for a fixed number of statements
    assert result.errors is None, result.errors
    users = nodes(result.data["users"])
    assert len(users) == page_size
    assert all(len(nodes(u["transactions"])) == 2 and u["transactions"]["totalCount"] == 3 for u in users)
    assert all(len(u["recommendedMerchants"]) == 2 and u["optimalSendTime"] for u in users)
    assert len(statements) == STATEMENTS, statements
