"""A user's rewards: the points balance and the ledger behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, customer, gid, nodes

REWARDS = """
query ($first: Int, $after: String) {
  me {
    rewardPoints
    rewardsLedger(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id kind points description createdAt } }
    }
  }
}
"""
OF_USER = "query ($id: ID!) { user(id: $id) { rewardPoints rewardsLedger { totalCount } } }"
T = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


async def test_balance_and_ledger_newest_first_in_pages(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer who earned 100, redeemed 30 and lost 5 to expiry
    user = await f.make_user(db)
    entries = [
        await f.make_reward_entry(
            db, user_id=user.id, kind="earn", points=100, description="Welcome", created_at=T
        ),
        await f.make_reward_entry(
            db, user_id=user.id, kind="redeem", points=-30, created_at=T + timedelta(days=1)
        ),
        await f.make_reward_entry(
            db, user_id=user.id, kind="expire", points=-5, created_at=T + timedelta(days=2)
        ),
    ]
    await db.refresh(user)  # the ledger trigger moved the balance

    # when the customer reads two entries, then the rest
    first = await gql(REWARDS, {"first": 2}, viewer=customer(user.id))
    assert first.errors is None, first.errors
    ledger = first.data["me"]["rewardsLedger"]
    rest = await gql(
        REWARDS, {"first": 2, "after": ledger["pageInfo"]["endCursor"]}, viewer=customer(user.id)
    )

    # then the balance is the ledger's sum and the entries come newest first
    assert first.data["me"]["rewardPoints"] == 65
    assert ledger["totalCount"] == 3
    assert [(n["kind"], n["points"]) for n in nodes(ledger)] == [("EXPIRE", -5), ("REDEEM", -30)]
    assert ledger["pageInfo"]["hasNextPage"] is True
    last = nodes(rest.data["me"]["rewardsLedger"])
    assert last == [
        {
            "id": gid("RewardEntry", entries[0].id),
            "kind": "EARN",
            "points": 100,
            "description": "Welcome",
            "createdAt": T.isoformat(),
        }
    ]
    assert rest.data["me"]["rewardsLedger"]["pageInfo"]["hasNextPage"] is False


async def test_entries_created_together_keep_a_total_order(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three entries with the same timestamp (one transaction's now())
    user = await f.make_user(db)
    ids = [(await f.make_reward_entry(db, user_id=user.id, points=p)).id for p in (1, 2, 3)]

    # when paged one at a time
    seen, after = [], None
    for _ in range(3):
        result = await gql(REWARDS, {"first": 1, "after": after}, viewer=customer(user.id))
        seen += [n["id"] for n in nodes(result.data["me"]["rewardsLedger"])]
        after = result.data["me"]["rewardsLedger"]["pageInfo"]["endCursor"]

    # then the id breaks the tie, newest (highest id) first
    assert seen == [gid("RewardEntry", i) for i in reversed(ids)]


async def test_admin_reads_anyones_balance(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    await f.make_reward_entry(db, user_id=user.id, points=40)
    await db.refresh(user)

    result = await gql(OF_USER, {"id": gid("User", user.id)}, viewer=ADMIN)

    assert result.data["user"] == {"rewardPoints": 40, "rewardsLedger": {"totalCount": 1}}


async def test_staff_other_than_admins_see_no_balance(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    analyst = await f.make_user(db, role="analyst")

    result = await gql(REWARDS, viewer=Viewer(role=Role.ANALYST, user_id=analyst.id))

    assert result.data["me"] == {"rewardPoints": None, "rewardsLedger": None}
    assert codes(result) == {"FORBIDDEN"}
