"""A person's money on the platform: linked accounts, card transactions and the rewards ledger.

Only admins and the customer themself see these (the customer reaches no other user's rows).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import OWNER_READERS
from core.viewer import Role
from loaders import users as loaders
from loaders.campaigns import CampaignByIdLoader
from loaders.merchants import MerchantByIdLoader
from models import users as m
from resolvers.users import reads as user_resolvers
from schema.analytics.types import DateRangeInput
from schema.caching.hints import CacheScope, cache_hint
from schema.merchants.types import Merchant, merchant_pk
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy

if TYPE_CHECKING:
    from schema.campaigns.types import Campaign

# A person's data: PII, balances, accounts, transactions, rewards.

AccountKind = strawberry.enum(m.AccountKind, description="Kind of payment account.")
AccountStatus = strawberry.enum(m.AccountStatus, description="Whether an account can be used.")
TransactionCategory = strawberry.enum(m.TransactionCategory, description="What a transaction paid for.")
TransactionStatus = strawberry.enum(m.TransactionStatus, description="Processing state of a transaction.")
RewardKind = strawberry.enum(m.RewardKind, description="Why the points balance changed.")


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(OWNER_READERS)
@strawberry.federation.type(
    keys=["id"], description="A payment account (card, bank, wallet) linked by a user."
)
class Account(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    kind: AccountKind = strawberry.field(description="Card, bank account or wallet.")
    institution: str = strawberry.field(description="Bank or issuer.")
    last_four: str = strawberry.field(description="Last four digits of the number.")
    balance: Decimal | None = strawberry.field(
        description="Current balance.", permission_classes=[allow(OWNER_READERS)]
    )
    currency: str = strawberry.field(description="ISO 4217 code.")
    status: AccountStatus = strawberry.field(description="Whether it can be used.")
    created_at: dt.datetime = strawberry.field(description="When it was linked (UTC).")

    @classmethod
    def from_row(cls, row: m.Account) -> Account:
        return cls(
            id=row.id,
            kind=m.AccountKind(row.kind),
            institution=row.institution,
            last_four=row.last_four,
            balance=row.balance,
            currency=row.currency,
            status=m.AccountStatus(row.status),
            created_at=row.created_at,
        )

    by_id_loader = loaders.AccountByIdLoader


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(OWNER_READERS)
@strawberry.federation.type(keys=["id"], description="A card transaction.")
class Transaction(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    amount: Decimal | None = strawberry.field(
        description="Amount paid.", permission_classes=[allow(OWNER_READERS)]
    )
    currency: str = strawberry.field(description="ISO 4217 code.")
    category: TransactionCategory = strawberry.field(description="What it paid for.")
    status: TransactionStatus = strawberry.field(description="Processing state.")
    occurred_at: dt.datetime = strawberry.field(description="When it happened (UTC).")
    account_id: strawberry.Private[int]
    merchant_id: strawberry.Private[int | None]
    campaign_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Transaction) -> Transaction:
        return cls(
            id=row.id,
            amount=row.amount,
            currency=row.currency,
            category=m.TransactionCategory(row.category),
            status=m.TransactionStatus(row.status),
            occurred_at=row.occurred_at,
            account_id=row.account_id,
            merchant_id=row.merchant_id,
            campaign_id=row.campaign_id,
        )

    by_id_loader = loaders.TransactionByIdLoader

    @strawberry.field(description="Where it was spent.", permission_classes=[allow(OWNER_READERS)])
    async def merchant(self, info: Ctx) -> Merchant | None:
        if self.merchant_id is None:
            return None
        row = await info.context.loader(MerchantByIdLoader).load(self.merchant_id)
        return None if row is None else Merchant.from_row(row)

    @strawberry.field(description="The account it was paid from.", permission_classes=[allow(OWNER_READERS)])
    async def account(self, info: Ctx) -> Account | None:
        row = await info.context.loader(loaders.AccountByIdLoader).load(self.account_id)
        return None if row is None else Account.from_row(row)

    # Attribution is the platform's business, not the customer's: admins only (customers may not
    # see Campaign objects at all, and an id they could not resolve would only leak its existence).
    @strawberry.field(
        description="The campaign credited with it (admins).", permission_classes=[allow(Role.ADMIN)]
    )
    async def campaign(
        self, info: Ctx
    ) -> Annotated[Campaign, strawberry.lazy("schema.campaigns.types")] | None:
        from schema.campaigns.types import Campaign

        if self.campaign_id is None:
            return None
        row = await info.context.loader(CampaignByIdLoader).load(self.campaign_id)
        return None if row is None else Campaign.from_row(row)


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(OWNER_READERS)
@strawberry.federation.type(keys=["id"], description="One entry of a user's rewards points ledger.")
class RewardEntry(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    kind: RewardKind = strawberry.field(description="Earned, redeemed, adjusted or expired.")
    points: int = strawberry.field(description="Change of the balance (negative for redeem and expire).")
    description: str | None = strawberry.field(description="Why, in words.")
    created_at: dt.datetime = strawberry.field(description="When it was booked (UTC).")

    @classmethod
    def from_row(cls, row: m.RewardEntry) -> RewardEntry:
        return cls(
            id=row.id,
            kind=m.RewardKind(row.kind),
            points=row.points,
            description=row.description,
            created_at=row.created_at,
        )

    by_id_loader = loaders.RewardEntryByIdLoader


@strawberry.input(description="Filters of a user's transactions; all given ones must match.")
class TransactionFilterInput:
    date_range: DateRangeInput | None = strawberry.field(
        default=None, description="Days it occurred on (UTC)."
    )
    merchant_id: strawberry.ID | None = strawberry.field(default=None, description="Global id of a merchant.")
    min_amount: Decimal | None = strawberry.field(default=None, description="Smallest amount, included.")
    max_amount: Decimal | None = strawberry.field(default=None, description="Largest amount, included.")
    category: list[TransactionCategory] | None = strawberry.field(
        default=None, description="Any of these categories."
    )
    status: list[TransactionStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )


def transaction_filter_of(value: TransactionFilterInput | None) -> loaders.TransactionFilter:
    """The validated loader filter of a transaction filter input."""
    f = value or TransactionFilterInput()
    return user_resolvers.transaction_filter(
        start=None if f.date_range is None else f.date_range.start,
        end=None if f.date_range is None else f.date_range.end,
        merchant_id=None if f.merchant_id is None else merchant_pk(f.merchant_id),
        min_amount=f.min_amount,
        max_amount=f.max_amount,
        categories=[v.value for v in f.category or []],
        statuses=[v.value for v in f.status or []],
    )
