"""recordTransaction: the processor's transactions, once per reference, earning points by the rule
(tier multiplier, plus a running cashback campaign's bonus at the merchant) in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from models.users import Account, RewardEntry, Transaction, User
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, SERVICE, gid

RECORD = """
mutation ($input: RecordTransactionInput!) {
  recordTransaction(input: $input) { transactionId pointsEarned replayed userErrors { field code } }
}
"""
RECORD_AS_ADMIN = """
mutation ($input: RecordTransactionInput!) {
  recordTransaction(input: $input) {
    transactionId transaction { amount status category } rewardEntry { kind points } userErrors { code }
  }
}
"""
WHEN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


async def _holder(db: AsyncSession, **user: Any) -> tuple[int, int]:
    account = await f.make_account(db, user_id=(await f.make_user(db, **user)).id)
    return account.user_id, account.id


def _input(user_id: int, account_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "externalRef": "proc-0001",
        "userId": gid("User", user_id),
        "accountId": gid("Account", account_id),
        "amount": "25.00",
        "currency": "USD",
        "category": "DINING",
        "status": "POSTED",
        "occurredAt": WHEN.isoformat(),
        **changes,
    }


async def _cashback(db: AsyncSession, merchant_id: int, percent: str, **o: Any) -> int:
    values = {
        "type": "cashback",
        "status": "running",
        "merchant_id": merchant_id,
        "cashback_percent": percent,
        "starts_at": WHEN - timedelta(days=10),
        "ends_at": WHEN + timedelta(days=10),
        **o,
    }
    return (await f.make_campaign(db, **values)).id


async def _balance(db: AsyncSession, user_id: int) -> int:
    return int(await db.scalar(select(User.reward_points).where(User.id == user_id)) or 0)


async def _counts(db: AsyncSession) -> tuple[int, int]:
    return (
        int(await db.scalar(select(func.count()).select_from(Transaction)) or 0),
        int(await db.scalar(select(func.count()).select_from(RewardEntry)) or 0),
    )


async def test_a_posted_transaction_earns_tier_points_in_the_same_write(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a bronze customer with an account
    user_id, account_id = await _holder(db)

    # when the processor records 25.99
    result = await gql(RECORD, {"input": _input(user_id, account_id, amount="25.99")}, viewer=SERVICE)

    # then the transaction exists, its earn entry holds floor(25.99 × 1) and the balance follows
    assert result.errors is None, result.errors
    payload = result.data["recordTransaction"]
    row = (await db.scalars(select(Transaction))).one()
    assert payload == {
        "transactionId": gid("Transaction", row.id),
        "pointsEarned": 25,
        "replayed": False,
        "userErrors": [],
    }
    entry = (await db.scalars(select(RewardEntry))).one()
    assert (entry.kind, entry.points, entry.transaction_id, entry.campaign_id) == ("earn", 25, row.id, None)
    assert await _balance(db, user_id) == 25


async def test_admins_see_the_transaction_and_entry_the_service_does_not(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db, loyalty_tier="gold")
    service = await gql(RECORD_AS_ADMIN, {"input": _input(user_id, account_id)}, viewer=SERVICE)
    admin = await gql(
        RECORD_AS_ADMIN, {"input": _input(user_id, account_id, externalRef="proc-2")}, viewer=ADMIN
    )

    assert codes(service) == {"FORBIDDEN"}
    assert service.data["recordTransaction"]["transactionId"] is not None
    assert admin.errors is None, admin.errors
    assert admin.data["recordTransaction"]["transaction"] == {
        "amount": "25.00",
        "status": "POSTED",
        "category": "DINING",
    }
    assert admin.data["recordTransaction"]["rewardEntry"] == {"kind": "EARN", "points": 37}


async def test_a_running_cashback_campaign_at_the_merchant_adds_its_bonus(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a silver customer and two running cashback campaigns at one merchant (5% and 3%)
    user_id, account_id = await _holder(db, loyalty_tier="silver")
    merchant = await f.make_merchant(db)
    best = await _cashback(db, merchant.id, "5")
    await _cashback(db, merchant.id, "3")

    # when 100.00 is spent there
    variables = {
        "input": _input(user_id, account_id, amount="100.00", merchantId=gid("Merchant", merchant.id))
    }
    result = await gql(RECORD, variables, viewer=SERVICE)

    # then floor(100 × 1.25) + floor(100 × 5) points, credited to the better campaign
    assert result.data["recordTransaction"]["pointsEarned"] == 125 + 500
    entry = (await db.scalars(select(RewardEntry))).one()
    assert (entry.points, entry.campaign_id) == (625, best)
    assert entry.description == "Card transaction: 125 tier + 500 cashback points"


@pytest.mark.parametrize(
    "campaign",
    [
        {"status": "paused"},
        {"starts_at": WHEN + timedelta(hours=1)},
        {"ends_at": WHEN},
        {"other_merchant": True},
        {"type": "email_offer", "cashback_percent": None},
    ],
    ids=["paused", "starts after", "ended at the moment", "other merchant", "not cashback"],
)
async def test_no_bonus_without_a_running_cashback_campaign_covering_the_time(
    db: AsyncSession, gql, campaign: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    merchant = await f.make_merchant(db)
    other = dict(campaign)
    owner = (await f.make_merchant(db)).id if other.pop("other_merchant", False) else merchant.id
    await _cashback(db, owner, "5", **other)

    variables = {
        "input": _input(user_id, account_id, amount="100.00", merchantId=gid("Merchant", merchant.id))
    }
    result = await gql(RECORD, variables, viewer=SERVICE)

    assert result.data["recordTransaction"]["pointsEarned"] == 100


@pytest.mark.parametrize("status", ["PENDING", "DECLINED", "REFUNDED"])
async def test_only_posted_transactions_earn(db: AsyncSession, gql, status: str) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)

    result = await gql(RECORD, {"input": _input(user_id, account_id, status=status)}, viewer=SERVICE)

    assert result.data["recordTransaction"]["pointsEarned"] == 0
    assert await _counts(db) == (1, 0)
    assert await _balance(db, user_id) == 0


async def test_recording_a_reference_twice_writes_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    variables = {"input": _input(user_id, account_id)}

    first = await gql(RECORD, variables, viewer=SERVICE)
    second = await gql(RECORD, variables, viewer=SERVICE)

    assert first.data["recordTransaction"]["replayed"] is False
    assert second.data["recordTransaction"] == {**first.data["recordTransaction"], "replayed": True}
    assert await _counts(db) == (1, 1)
    assert await _balance(db, user_id) == 25


async def test_a_reference_with_other_details_is_taken(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    await gql(RECORD, {"input": _input(user_id, account_id)}, viewer=SERVICE)

    other = await gql(RECORD, {"input": _input(user_id, account_id, amount="26.00")}, viewer=SERVICE)

    assert other.data["recordTransaction"]["userErrors"] == [{"field": "externalRef", "code": "TAKEN"}]
    assert await _counts(db) == (1, 1)


async def test_a_retry_with_an_idempotency_key_rebuilds_the_answer(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    variables = {"input": {**_input(user_id, account_id), "idempotencyKey": "batch-7"}}

    first = await gql(RECORD, variables, viewer=SERVICE)
    second = await gql(RECORD, variables, viewer=SERVICE)

    assert second.data["recordTransaction"] == {**first.data["recordTransaction"], "replayed": True}
    assert await _counts(db) == (1, 1)


async def test_a_retry_after_the_account_was_unlinked_still_answers(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    await gql(RECORD, {"input": _input(user_id, account_id)}, viewer=SERVICE)
    account = await db.get(Account, account_id)
    account.status = "unlinked"
    await db.flush()

    retry = await gql(RECORD, {"input": _input(user_id, account_id)}, viewer=SERVICE)

    assert retry.data["recordTransaction"]["replayed"] is True


NOW_PLUS_A_DAY = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"externalRef": " "}, "externalRef", "REQUIRED"),
        ({"externalRef": "r" * 101}, "externalRef", "TOO_LONG"),
        ({"amount": "0"}, "amount", "OUT_OF_RANGE"),
        ({"amount": "-1.00"}, "amount", "OUT_OF_RANGE"),
        ({"amount": "10000000000.00"}, "amount", "OUT_OF_RANGE"),
        ({"amount": "1.005"}, "amount", "INVALID"),
        ({"currency": "DOLLARS"}, "currency", "INVALID"),
        ({"occurredAt": "2024-06-01T12:00:00"}, "occurredAt", "INVALID"),
        ({"occurredAt": NOW_PLUS_A_DAY}, "occurredAt", "OUT_OF_RANGE"),
        ({"userId": gid("User", f.MISSING_ID)}, "userId", "NOT_FOUND"),
        ({"userId": gid("Account", 1)}, "userId", "NOT_FOUND"),
        ({"accountId": gid("Account", f.MISSING_ID)}, "accountId", "NOT_FOUND"),
        ({"merchantId": gid("Merchant", f.MISSING_ID)}, "merchantId", "NOT_FOUND"),
        ({"campaignId": gid("Campaign", f.MISSING_ID)}, "campaignId", "NOT_FOUND"),
        ({"campaignId": gid("Merchant", 1)}, "campaignId", "NOT_FOUND"),
    ],
    ids=[
        "blank reference",
        "long reference",
        "zero amount",
        "negative amount",
        "amount too large",
        "fraction of a cent",
        "not a currency code",
        "no time zone",
        "in the future",
        "unknown user",
        "user id of another type",
        "unknown account",
        "unknown merchant",
        "unknown campaign",
        "campaign id of another type",
    ],
)
async def test_invalid_transactions_write_nothing(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)

    result = await gql(RECORD, {"input": _input(user_id, account_id, **changes)}, viewer=SERVICE)

    assert result.errors is None, result.errors
    assert {"field": field, "code": code} in result.data["recordTransaction"]["userErrors"]
    assert result.data["recordTransaction"]["transactionId"] is None
    assert await _counts(db) == (0, 0)


async def test_the_account_must_belong_to_the_user(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, _ = await _holder(db)
    _, someone_elses = await _holder(db)

    result = await gql(RECORD, {"input": _input(user_id, someone_elses)}, viewer=SERVICE)

    assert result.data["recordTransaction"]["userErrors"] == [{"field": "accountId", "code": "NOT_FOUND"}]
    assert await _counts(db) == (0, 0)


async def test_unlinked_accounts_and_erased_users_record_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)
    unlinked = await f.make_account(db, user_id=user_id, status="unlinked")
    erased = await f.make_user(db, email=None, name=None, deleted_at=WHEN)
    erased_account = await f.make_account(db, user_id=erased.id)

    on_unlinked = await gql(RECORD, {"input": _input(user_id, unlinked.id)}, viewer=SERVICE)
    for_erased = await gql(RECORD, {"input": _input(erased.id, erased_account.id)}, viewer=SERVICE)

    assert on_unlinked.data["recordTransaction"]["userErrors"] == [{"field": "accountId", "code": "INVALID"}]
    assert {"field": "userId", "code": "NOT_FOUND"} in for_erased.data["recordTransaction"]["userErrors"]
    assert await _counts(db) == (0, 0)


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.MARKETER, user_id=1),
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        Viewer(role=Role.CUSTOMER, user_id=1),
        ANONYMOUS,
    ],
    ids=["marketer", "analyst", "merchant", "customer", "anonymous"],
)
async def test_only_the_service_and_admins_record_transactions(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(db)

    result = await gql(RECORD, {"input": _input(user_id, account_id)}, viewer=viewer)

    assert result.data == {"recordTransaction": None}
    assert codes(result) == {"FORBIDDEN"}
    assert await _counts(db) == (0, 0)
