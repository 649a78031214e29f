"""Root fields of the users domain: the viewer's own profile, one user, the admin user list."""

from __future__ import annotations

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import OWNER_READERS, PEOPLE
from core.viewer import Role
from loaders.users import UserByIdLoader
from resolvers.users import reads as user_resolvers
from schema.connections import Connection, page_request, paged
from schema.nodes import node_of
from schema.permissions import allow
from schema.users.types import LoyaltyTier, User

UserSortField = strawberry.enum(user_resolvers.UserSort, description="Orders of a user list.")


@strawberry.input(description="Filters of the user list; all given ones must match.")
class UserFilterInput:
    search: str | None = strawberry.field(
        default=None, description="The start of an email address, or words of the name."
    )
    tier: list[LoyaltyTier] | None = strawberry.field(default=None, description="Any of these tiers.")


@strawberry.input(description="Order of the user list.")
class UserSortInput:
    field: UserSortField = strawberry.field(
        default=user_resolvers.UserSort.CREATED_AT, description="Sort key."
    )
    descending: bool = strawberry.field(default=True, description="Largest first.")


@strawberry.type
class UserQuery:
    @strawberry.field(
        description="The signed-in person (the mobile app's viewer).",
        permission_classes=[allow(PEOPLE)],
    )
    async def me(self, info: Ctx) -> User | None:
        ctx = info.context
        row = await user_resolvers.viewer_profile(loader=ctx.loader(UserByIdLoader), viewer=ctx.viewer)
        return None if row is None else User.from_row(row)

    @strawberry.field(
        description="One user by global id; null when it does not exist or is not you (customers).",
        permission_classes=[allow(OWNER_READERS)],
    )
    async def user(self, info: Ctx, id: relay.GlobalID) -> User | None:
        return await node_of(info, id, User)

    @strawberry.field(
        description="Users (admins): search by email prefix or name, filter by tier, a page at a time.",
        permission_classes=[allow(Role.ADMIN)],
    )
    async def users(
        self,
        info: Ctx,
        filter: UserFilterInput | None = None,
        sort: UserSortInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User] | None:
        f, s = filter or UserFilterInput(), sort or UserSortInput()
        criteria = user_resolvers.UserFilter(search=f.search, tiers=[t.value for t in f.tier or []])
        ctx = info.context
        return await paged(
            ctx,
            lambda session: user_resolvers.list_users(
                session=session,
                viewer=ctx.viewer,
                filter=criteria,
                sort=s.field,
                descending=s.descending,
                page=page_request(first, after, last, before),
            ),
            User.from_row,
        )
