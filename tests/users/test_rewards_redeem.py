"""redeemRewards: a negative ledger entry kept by the trigger; an overdraft is refused by the CHECK
with nothing written, and the transaction stays usable to say so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.users import RewardEntry, User
from tests.models import factories as f
from tests.support import codes
from tests.users.support import SERVICE, customer

REDEEM = """
mutation ($input: RedeemRewardsInput!) {
  redeemRewards(input: $input) {
    entry { kind points description } balance userErrors { field code }
  }
}
"""


async def _customer_with(db: AsyncSession, points: int) -> User:
    user = await f.make_user(db)
    await f.make_reward_entry(db, user_id=user.id, kind="earn", points=points)
    await db.refresh(user)
    return user


async def _redeems(db: AsyncSession, user_id: int) -> int:
    query = select(func.count()).where(RewardEntry.user_id == user_id, RewardEntry.kind == "redeem")
    return int(await db.scalar(query) or 0)


async def test_a_redemption_books_a_negative_entry_and_returns_the_balance(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _customer_with(db, 500)

    result = await gql(REDEEM, {"input": {"points": 120}}, viewer=customer(user.id))

    assert result.errors is None, result.errors
    payload = result.data["redeemRewards"]
    assert payload == {
        "entry": {"kind": "REDEEM", "points": -120, "description": "Redeemed in the app"},
        "balance": 380,
        "userErrors": [],
    }
    await db.refresh(user)
    assert user.reward_points == 380
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.action, audit.entity_id, audit.after["balance"]) == ("rewards.redeem", user.id, 380)


async def test_the_whole_balance_can_be_spent(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _customer_with(db, 100)

    result = await gql(REDEEM, {"input": {"points": 100}}, viewer=customer(user.id))

    assert result.data["redeemRewards"]["balance"] == 0
    assert result.data["redeemRewards"]["entry"]["description"] == "Redeemed in the app"


async def test_an_overdraft_is_insufficient_balance_and_writes_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _customer_with(db, 99)

    result = await gql(REDEEM, {"input": {"points": 100}}, viewer=customer(user.id))

    assert result.errors is None, result.errors
    assert result.data["redeemRewards"] == {
        "entry": None,
        "balance": None,
        "userErrors": [{"field": "points", "code": "INSUFFICIENT_BALANCE"}],
    }
    await db.refresh(user)
    assert user.reward_points == 99
    assert await _redeems(db, user.id) == 0
    assert await db.scalar(select(func.count()).select_from(AuditLogEntry)) == 0


async def test_a_refused_redemption_leaves_the_request_usable(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # the second mutation of the same request runs after the first hit the CHECK
    user = await _customer_with(db, 50)
    document = """
    mutation {
      big: redeemRewards(input: {points: 80}) { balance userErrors { code } }
      small: redeemRewards(input: {points: 30}) { balance userErrors { code } }
    }
    """

    result = await gql(document, viewer=customer(user.id))

    assert result.errors is None, result.errors
    assert result.data["big"] == {"balance": None, "userErrors": [{"code": "INSUFFICIENT_BALANCE"}]}
    assert result.data["small"] == {"balance": 20, "userErrors": []}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"points": 0}, "points", "OUT_OF_RANGE"),
        ({"points": -5}, "points", "OUT_OF_RANGE"),
    ],
    ids=["zero points", "negative points"],
)
async def test_invalid_redemptions_write_nothing(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    user = await _customer_with(db, 100)

    result = await gql(REDEEM, {"input": changes}, viewer=customer(user.id))

    assert {"field": field, "code": code} in result.data["redeemRewards"]["userErrors"]
    assert await _redeems(db, user.id) == 0


async def test_an_erased_user_cannot_redeem(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, email=None, name=None, deleted_at=datetime(2024, 1, 1, tzinfo=UTC))

    result = await gql(REDEEM, {"input": {"points": 1}}, viewer=customer(user.id))

    assert result.data["redeemRewards"]["userErrors"] == [{"field": None, "code": "NOT_FOUND"}]


async def test_a_retried_redemption_spends_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _customer_with(db, 300)
    variables = {"input": {"points": 100, "idempotencyKey": "redeem-1"}}

    first = await gql(REDEEM, variables, viewer=customer(user.id))
    second = await gql(REDEEM, variables, viewer=customer(user.id))

    assert first.data == second.data
    assert first.data["redeemRewards"]["balance"] == 200
    assert await _redeems(db, user.id) == 1


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.ADMIN, user_id=1),
        Viewer(role=Role.MARKETER, user_id=1),
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        SERVICE,
        ANONYMOUS,
    ],
    ids=["admin", "marketer", "analyst", "merchant", "service", "anonymous"],
)
async def test_only_customers_redeem(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await _customer_with(db, 100)

    result = await gql(REDEEM, {"input": {"points": 10}}, viewer=viewer)

    assert result.data == {"redeemRewards": None}
    assert codes(result) == {"FORBIDDEN"}
    assert await db.scalar(select(func.count()).where(RewardEntry.kind == "redeem")) == 0
