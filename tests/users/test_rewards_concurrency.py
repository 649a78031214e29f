"""Points under concurrency, on separate connections: 20 redemptions of 100 against a balance of 500
(the trigger's row lock and the CHECK let exactly 5 through, the balance ends at 0, never below);
one processor reference recorded 10 times at once (one transaction, one earn entry); and
recordings of different references for one user (no deadlock, every point counted)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from strawberry import relay

from core.viewer import Role, Viewer
from models.users import Account, RewardEntry, Transaction, User

REDEEM = """
mutation { redeemRewards(input: {points: 100}) { balance userErrors { code } } }
"""
RECORD = """
mutation ($input: RecordTransactionInput!) {
  recordTransaction(input: $input) { transactionId pointsEarned replayed userErrors { code } }
}
"""
SERVICE = Viewer(role=Role.SERVICE)


async def _holder(live, email: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        user = User(email=email, name="Holder", role="customer")
        session.add(user)
        await session.flush()
        account = Account(user_id=user.id, kind="credit_card", institution="Bank", last_four="4242")
        session.add(account)
        await session.flush()
        return user.id, account.id


def _input(user_id: int, account_id: int, ref: str) -> dict[str, object]:
    return {
        "externalRef": ref,
        "userId": relay.to_base64("User", user_id),
        "accountId": relay.to_base64("Account", account_id),
        "amount": "10.00",
        "currency": "USD",
        "category": "GROCERIES",
        "status": "POSTED",
        "occurredAt": "2024-06-01T12:00:00+00:00",
    }


async def test_twenty_parallel_redemptions_against_five_can_never_overdraw(live) -> None:  # type: ignore[no-untyped-def]
    # given a customer with 500 points, committed
    async with live.sessionmaker() as session, session.begin():
        user = User(email="parallel@example.com", name="Parallel", role="customer")
        session.add(user)
        await session.flush()
        session.add(RewardEntry(user_id=user.id, kind="earn", points=500))
    viewer = Viewer(role=Role.CUSTOMER, user_id=user.id)

    # when the app fires 20 redemptions of 100 at once
    results = await asyncio.gather(*(live.execute(REDEEM, viewer=viewer) for _ in range(20)))

    # then exactly 5 succeed and 15 are refused for the balance, with no other error
    assert [r.errors for r in results] == [None] * 20
    payloads = [r.data["redeemRewards"] for r in results]
    succeeded = [p for p in payloads if not p["userErrors"]]
    refused = [p for p in payloads if p["userErrors"] == [{"code": "INSUFFICIENT_BALANCE"}]]
    assert (len(succeeded), len(refused)) == (5, 15)
    assert sorted(p["balance"] for p in succeeded) == [0, 100, 200, 300, 400]

    # and the balance is 0, with 5 redeem entries whose sum matches it
    async with live.sessionmaker() as session:
        assert await session.scalar(select(User.reward_points).where(User.id == user.id)) == 0
        redeems = select(func.count(), func.sum(RewardEntry.points)).where(
            RewardEntry.user_id == user.id, RewardEntry.kind == "redeem"
        )
        assert tuple((await session.execute(redeems)).one()) == (5, -500)


async def test_one_reference_recorded_ten_times_at_once_is_one_transaction(live) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(live, "same-ref@example.com")

    # when the processor's retries arrive together
    variables = {"input": _input(user_id, account_id, "proc-burst")}
    results = await asyncio.gather(*(live.execute(RECORD, variables, viewer=SERVICE) for _ in range(10)))

    # then every call answers with the one transaction; exactly one wrote it
    assert [r.errors for r in results] == [None] * 10
    payloads = [r.data["recordTransaction"] for r in results]
    assert len({p["transactionId"] for p in payloads}) == 1
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 9
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Transaction)) == 1
        assert await session.scalar(select(func.count()).select_from(RewardEntry)) == 1
        assert await session.scalar(select(User.reward_points).where(User.id == user_id)) == 10


async def test_parallel_recordings_for_one_user_count_every_point(live) -> None:  # type: ignore[no-untyped-def]
    user_id, account_id = await _holder(live, "many-refs@example.com")

    results = await asyncio.gather(
        *(
            live.execute(RECORD, {"input": _input(user_id, account_id, f"proc-{n}")}, viewer=SERVICE)
            for n in range(15)
        )
    )

    assert [r.errors for r in results] == [None] * 15
    assert {r.data["recordTransaction"]["pointsEarned"] for r in results} == {10}
    async with live.sessionmaker() as session:
        assert await session.scalar(select(User.reward_points).where(User.id == user_id)) == 150
        assert await session.scalar(select(func.sum(RewardEntry.points))) == 150
