"""Card transactions reported by the processor (the service role), each recorded once per processor
reference, with the reward points it earns written to the ledger in the same transaction.

The earning rule itself is resolvers/users/rewards.py. A second recording of a reference returns the first
one and writes nothing; the same reference with other details is refused (TAKEN), since a
processor reference names exactly one transaction (changing a status needs a mutation of its own).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from models.campaigns import Campaign, CampaignStatus, CampaignType
from models.merchants import Merchant
from models.users import (
    Account,
    AccountStatus,
    RewardEntry,
    RewardKind,
    Transaction,
    TransactionCategory,
    TransactionStatus,
    User,
)
from resolvers.outcomes import Outcome, ProblemCode, Problems
from resolvers.users import rewards
from resolvers.users.writes import CURRENCY, live_user

EXTERNAL_REF_MAX = 100
MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12,2)
CENT = Decimal("0.01")
# Processor clocks drift; a transaction further in the future than this is a bad timestamp.
CLOCK_SKEW = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class TransactionFields:
    external_ref: str
    user_id: int
    account_id: int
    amount: Decimal
    currency: str
    category: TransactionCategory
    status: TransactionStatus
    occurred_at: dt.datetime
    merchant_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    transaction: Transaction
    reward: RewardEntry | None
    # True when the reference was already recorded: nothing was written this time.
    replayed: bool


def _validate_transaction(data: TransactionFields, now: dt.datetime, problems: Problems) -> None:
    problems.require_length("external_ref", data.external_ref, max_length=EXTERNAL_REF_MAX, required=True)
    if not data.amount.is_finite() or data.amount <= 0:
        problems.add("amount", "Must be more than 0.", ProblemCode.OUT_OF_RANGE)
    elif data.amount > MAX_AMOUNT:
        problems.require_range("amount", data.amount, high=MAX_AMOUNT)
    elif data.amount != data.amount.quantize(CENT):
        problems.add("amount", "At most two decimal places.")
    if not CURRENCY.fullmatch(data.currency):
        problems.add("currency", "An ISO 4217 code such as USD.")
    if data.occurred_at.tzinfo is None:
        problems.add("occurred_at", "Give the time zone (UTC offset).")
    elif data.occurred_at > now + CLOCK_SKEW:
        problems.add("occurred_at", "The transaction cannot be in the future.", ProblemCode.OUT_OF_RANGE)


async def _check_parents(session: AsyncSession, data: TransactionFields, problems: Problems) -> User | None:
    # NO KEY UPDATE: the same lock the earn entry's trigger takes next, so no lock upgrade can
    # deadlock two recordings for one user, and an erasure (FOR UPDATE) waits for this one.
    user = await live_user(session, data.user_id, lock="no_key_update")
    if user is None:
        problems.add("user_id", "No such user.", ProblemCode.NOT_FOUND)
    account = await session.get(Account, data.account_id)
    if account is None or account.user_id != data.user_id:
        problems.add("account_id", "No such account of this user.", ProblemCode.NOT_FOUND)
    elif account.status == AccountStatus.UNLINKED.value:
        problems.add("account_id", "The account is unlinked.", ProblemCode.INVALID)
    if data.merchant_id is not None and await session.get(Merchant, data.merchant_id) is None:
        problems.add("merchant_id", "No such merchant.", ProblemCode.NOT_FOUND)
    if data.campaign_id is not None and await session.get(Campaign, data.campaign_id) is None:
        problems.add("campaign_id", "No such campaign.", ProblemCode.NOT_FOUND)
    return user


def _same(row: Transaction, data: TransactionFields) -> bool:
    return (
        row.user_id,
        row.account_id,
        row.merchant_id,
        row.campaign_id,
        row.amount,
        row.currency,
        row.category,
        row.status,
        row.occurred_at,
    ) == (
        data.user_id,
        data.account_id,
        data.merchant_id,
        data.campaign_id,
        data.amount,
        data.currency,
        data.category.value,
        data.status.value,
        data.occurred_at,
    )


async def _cashback(session: AsyncSession, data: TransactionFields) -> tuple[int, Decimal] | None:
    """The running cashback campaign of the merchant covering the transaction, best rate first."""
    if data.merchant_id is None:
        return None
    row = (
        await session.execute(
            select(Campaign.id, Campaign.cashback_percent)
            .where(
                Campaign.merchant_id == data.merchant_id,
                Campaign.type == CampaignType.CASHBACK.value,
                Campaign.status == CampaignStatus.RUNNING.value,
                Campaign.cashback_percent.is_not(None),
                Campaign.starts_at <= data.occurred_at,
                Campaign.ends_at > data.occurred_at,
            )
            .order_by(Campaign.cashback_percent.desc(), Campaign.id)
            .limit(1)
        )
    ).first()
    return None if row is None else (row.id, row.cashback_percent)


async def earn_entry_of(session: AsyncSession, transaction_id: int) -> RewardEntry | None:
    return await session.scalar(
        select(RewardEntry).where(
            RewardEntry.transaction_id == transaction_id, RewardEntry.kind == RewardKind.EARN.value
        )
    )


async def _by_ref(session: AsyncSession, external_ref: str) -> Transaction | None:
    return await session.scalar(select(Transaction).where(Transaction.external_ref == external_ref))


async def _replay(session: AsyncSession, existing: Transaction, data: TransactionFields) -> Outcome[Recorded]:
    if not _same(existing, data):
        return Outcome.one_problem(
            "external_ref", "This reference was already recorded with other details.", ProblemCode.TAKEN
        )
    reward = await earn_entry_of(session, existing.id)
    return Outcome(value=Recorded(existing, reward, replayed=True), ref=("Transaction", existing.id))


async def record_transaction(
    *, session: AsyncSession, data: TransactionFields, now: dt.datetime
) -> Outcome[Recorded]:
    """Record a processor's card transaction once per reference, with the points it earns."""
    data = replace(data, external_ref=data.external_ref.strip(), currency=data.currency.strip().upper())
    problems = Problems()
    _validate_transaction(data, now, problems)
    if problems:
        return Outcome.refused(problems)
    # A retry answers with what was recorded, even if the account was unlinked since.
    existing = await _by_ref(session, data.external_ref)
    if existing is not None:
        return await _replay(session, existing, data)
    user = await _check_parents(session, data, problems)
    if problems or user is None:
        return Outcome.refused(problems)
    # ON CONFLICT DO NOTHING: a concurrent recording of the same reference waits for the first to
    # commit, then replays its row instead of failing.
    transaction = await session.scalar(
        pg_insert(Transaction)
        .values(
            external_ref=data.external_ref,
            user_id=data.user_id,
            account_id=data.account_id,
            merchant_id=data.merchant_id,
            campaign_id=data.campaign_id,
            amount=data.amount,
            currency=data.currency,
            category=data.category.value,
            status=data.status.value,
            occurred_at=data.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[Transaction.external_ref])
        .returning(Transaction)
    )
    if transaction is None:
        winner = await _by_ref(session, data.external_ref)
        assert winner is not None
        return await _replay(session, winner, data)
    campaign = await _cashback(session, data) if data.status is TransactionStatus.POSTED else None
    earning = rewards.earn(
        amount=data.amount,
        tier=user.loyalty_tier,
        status=data.status,
        cashback_percent=None if campaign is None else campaign[1],
    )
    reward = None
    if earning.points > 0:
        reward = await session.scalar(
            insert(RewardEntry)
            .values(
                user_id=data.user_id,
                kind=RewardKind.EARN.value,
                points=earning.points,
                transaction_id=transaction.id,
                campaign_id=campaign[0] if campaign is not None and earning.bonus else None,
                description=earning.describe(),
            )
            .returning(RewardEntry)
        )
    return Outcome(value=Recorded(transaction, reward, replayed=False), ref=("Transaction", transaction.id))


async def recorded_of(context: RequestContext, ref: dict[str, Any]) -> Recorded | None:
    """A recorded transaction and its earn entry (idempotent replays)."""
    # Not through the loaders: the processor (a service key) sees no person's rows there, yet its
    # retry must get the same answer. The payload's Transaction and RewardEntry fields keep their
    # own policy (admins and the customer), so the service still reads only ids and points.
    async with context.read_session() as session:
        transaction = await session.get(Transaction, int(ref["id"]))
        if transaction is None:
            return None
        return Recorded(transaction, await earn_entry_of(session, transaction.id), replayed=True)
