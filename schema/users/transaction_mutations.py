"""recordTransaction: the card processor (service role, or an admin) reports a transaction; it is
recorded once per processor reference and earns points by the rule in resolvers/users/rewards.py.

The service sees what it needs (ids, points, whether it was a replay); the Transaction and ledger
objects themselves are a person's data and stay with their readers (admins and the customer).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import OWNER_READERS, TRANSACTION_RECORDERS
from models import users as m
from resolvers.users import transaction_writes as writes
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, not_an_id, pk_of, run_mutation
from schema.permissions import allow
from schema.users.wallet_types import RewardEntry, Transaction, TransactionCategory, TransactionStatus


@strawberry.input(description="A card transaction as the processor reports it.")
class RecordTransactionInput:
    external_ref: str = strawberry.field(
        description="The processor's reference (1-100 characters): recording it again is a no-op."
    )
    user_id: relay.GlobalID = strawberry.field(description="The card holder.")
    account_id: relay.GlobalID = strawberry.field(description="The holder's account it was paid from.")
    amount: Decimal = strawberry.field(description="Amount paid, more than 0, at most two decimals.")
    currency: str = strawberry.field(description="ISO 4217 code, such as USD.")
    category: TransactionCategory = strawberry.field(description="What it paid for.")
    status: TransactionStatus = strawberry.field(description="Processing state; only POSTED earns points.")
    occurred_at: dt.datetime = strawberry.field(description="When it happened, with its UTC offset.")
    merchant_id: relay.GlobalID | None = strawberry.field(default=None, description="Where it was spent.")
    campaign_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The campaign credited with it (attribution)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The recorded transaction and the points it earned, or why nothing was written.")
class RecordTransactionPayload:
    transaction_id: relay.GlobalID | None = strawberry.field(description="Global id of the transaction.")
    points_earned: int | None = strawberry.field(description="Points its earn entry added (0 for none).")
    replayed: bool | None = strawberry.field(
        description="True when this reference was recorded before: nothing was written this time."
    )
    transaction: Transaction | None = strawberry.field(
        description="The transaction (admins).", permission_classes=[allow(OWNER_READERS)]
    )
    reward_entry: RewardEntry | None = strawberry.field(
        description="Its earn entry in the ledger, if it earned points (admins).",
        permission_classes=[allow(OWNER_READERS)],
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


# GraphQL id field -> (type it must name, camelCase field for the userError).
ID_FIELDS = {
    "user_id": ("User", "userId"),
    "account_id": ("Account", "accountId"),
    "merchant_id": ("Merchant", "merchantId"),
    "campaign_id": ("Campaign", "campaignId"),
}


def _ids(input: RecordTransactionInput, errors: list[UserError]) -> dict[str, int | None]:
    ids: dict[str, int | None] = {}
    for name, (type_name, field) in ID_FIELDS.items():
        gid = getattr(input, name)
        ids[name] = None if gid is None else pk_of(gid, type_name)
        if gid is not None and ids[name] is None:
            errors.extend(not_an_id(field, type_name))
    return ids


def _payload(done: writes.Recorded | None, errors: list[UserError]) -> RecordTransactionPayload:
    if done is None:
        return RecordTransactionPayload(
            transaction_id=None,
            points_earned=None,
            replayed=None,
            transaction=None,
            reward_entry=None,
            user_errors=errors,
        )
    return RecordTransactionPayload(
        transaction_id=relay.GlobalID("Transaction", str(done.transaction.id)),
        points_earned=0 if done.reward is None else done.reward.points,
        replayed=done.replayed,
        transaction=Transaction.from_row(done.transaction),
        reward_entry=None if done.reward is None else RewardEntry.from_row(done.reward),
        user_errors=errors,
    )


@strawberry.type
class TransactionMutation:
    @strawberry.mutation(
        description=(
            "Record a card transaction (the processor): idempotent by its reference; a POSTED one earns "
            "points (amount × tier multiplier, plus a running cashback campaign's bonus at the merchant)."
        ),
        permission_classes=[allow(TRANSACTION_RECORDERS)],
    )
    async def record_transaction(
        self, info: Ctx, input: RecordTransactionInput
    ) -> RecordTransactionPayload | None:
        errors: list[UserError] = []
        ids = _ids(input, errors)
        if errors:
            return _payload(None, errors)
        user_id, account_id = ids["user_id"], ids["account_id"]
        assert user_id is not None and account_id is not None
        data = writes.TransactionFields(
            external_ref=input.external_ref,
            user_id=user_id,
            account_id=account_id,
            amount=input.amount,
            currency=input.currency,
            category=m.TransactionCategory(input.category.value),
            status=m.TransactionStatus(input.status.value),
            occurred_at=input.occurred_at,
            merchant_id=ids["merchant_id"],
            campaign_id=ids["campaign_id"],
        )

        done, errors = await run_mutation(
            info,
            operation="recordTransaction",
            input=input,
            write=lambda session, actor: writes.record_transaction(
                session=session, data=data, now=dt.datetime.now(dt.UTC)
            ),
            reread=writes.recorded_of,
        )
        return _payload(done, errors)
