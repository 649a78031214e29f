"""The User type: a person's profile and, through loaders, their accounts, history and insights."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import INSIGHT_READERS, OWNER_READERS, PEOPLE
from loaders import ml as insights
from loaders import users as loaders
from models import users as m
from resolvers.users import reads as user_resolvers
from schema.caching.hints import CacheScope, cache_hint
from schema.connections import Connection, connection, page_request
from schema.merchants.types import Merchant
from schema.nodes import LoadedNode
from schema.permissions import allow, type_policy
from schema.users.insight_types import MerchantRecommendation, OptimalSendTime
from schema.users.wallet_types import (
    Account,
    RewardEntry,
    Transaction,
    TransactionFilterInput,
    transaction_filter_of,
)

# Whoever has a user account reaches their own User (through `me`); admins reach everyone's.

UserRole = strawberry.enum(m.UserRole, name="UserRole", description="What a person does on the platform.")
LoyaltyTier = strawberry.enum(m.LoyaltyTier, description="Loyalty programme tier.")


@cache_hint(max_age=60, scope=CacheScope.PRIVATE)
@type_policy(PEOPLE)
@strawberry.federation.type(keys=["id"], description="A person: a mobile-app customer or a member of staff.")
class User(LoadedNode, relay.Node):
    id: relay.NodeID[int]
    name: str | None = strawberry.field(description="Display name; null once erased.")
    # PII: admins and the person themself (a customer reaches no other User).
    email: str | None = strawberry.field(
        description="Email address; null once erased.", permission_classes=[allow(OWNER_READERS)]
    )
    phone: str | None = strawberry.field(
        description="Phone number (E.164).", permission_classes=[allow(OWNER_READERS)]
    )
    role: UserRole = strawberry.field(description="Customer or kind of staff.")
    loyalty_tier: LoyaltyTier = strawberry.field(description="Loyalty programme tier.")
    reward_points: int | None = strawberry.field(
        description="Rewards points balance.", permission_classes=[allow(OWNER_READERS)]
    )
    created_at: dt.datetime = strawberry.field(description="Sign-up time (UTC).")
    last_login_at: dt.datetime | None = strawberry.field(description="Last sign-in (UTC).")
    is_erased: bool = strawberry.field(description="Whether the person's data was erased (GDPR).")

    @classmethod
    def from_row(cls, row: m.User) -> User:
        return cls(
            id=row.id,
            name=row.name,
            email=row.email,
            phone=row.phone,
            role=m.UserRole(row.role),
            loyalty_tier=m.LoyaltyTier(row.loyalty_tier),
            reward_points=row.reward_points,
            created_at=row.created_at,
            last_login_at=row.last_login_at,
            is_erased=row.deleted_at is not None,
        )

    by_id_loader = loaders.UserByIdLoader

    @strawberry.field(
        description="Linked payment accounts, oldest first.", permission_classes=[allow(OWNER_READERS)]
    )
    async def accounts(self, info: Ctx) -> list[Account] | None:
        rows = await info.context.loader(loaders.AccountsByUserLoader).load(self.id)
        return [Account.from_row(row) for row in rows]

    @strawberry.field(
        description="Card transactions, newest first, filtered, a page at a time.",
        permission_classes=[allow(OWNER_READERS)],
    )
    async def transactions(
        self,
        info: Ctx,
        filter: TransactionFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Transaction] | None:
        criteria = transaction_filter_of(filter)
        ctx = info.context
        page = await user_resolvers.transactions_page(
            loader=ctx.loader(loaders.TransactionPageByUserLoader),
            user_id=self.id,
            filter=criteria,
            page=page_request(first, after, last, before),
        )
        counter = ctx.loader(loaders.TransactionCountByUserLoader)
        return connection(page, Transaction.from_row, lambda: counter.load((self.id, criteria)))

    @strawberry.field(
        description="Rewards points ledger, newest first, a page at a time.",
        permission_classes=[allow(OWNER_READERS)],
    )
    async def rewards_ledger(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[RewardEntry] | None:
        ctx = info.context
        page = await user_resolvers.reward_entries_page(
            loader=ctx.loader(loaders.RewardEntryPageByUserLoader),
            user_id=self.id,
            page=page_request(first, after, last, before),
        )
        counter = ctx.loader(loaders.RewardEntryCountByUserLoader)
        return connection(page, RewardEntry.from_row, lambda: counter.load(self.id))

    @strawberry.field(
        description="Active merchants the person is most likely to enjoy, best first.",
        permission_classes=[allow(INSIGHT_READERS)],
    )
    async def recommended_merchants(
        self,
        info: Ctx,
        first: Annotated[
            int, strawberry.argument(description="How many (at most 100).")
        ] = user_resolvers.DEFAULT_RECOMMENDATIONS,
    ) -> list[MerchantRecommendation] | None:
        found = await user_resolvers.recommended_merchants(
            loader=info.context.loader(insights.RecommendedMerchantsByUserLoader),
            user_id=self.id,
            first=first,
        )
        return [
            MerchantRecommendation(merchant=Merchant.from_row(r.merchant), affinity_score=r.affinity_score)
            for r in found
        ]

    @strawberry.field(
        description="When messages to the person are most likely opened; null if not computed yet.",
        permission_classes=[allow(INSIGHT_READERS)],
    )
    async def optimal_send_time(self, info: Ctx) -> OptimalSendTime | None:
        row = await info.context.loader(insights.OptimalSendTimeByUserLoader).load(self.id)
        return None if row is None else OptimalSendTime.from_row(row)
