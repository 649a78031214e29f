"""Users' mutations from the mobile app: own profile, linked accounts, redemptions, erasure (GDPR).

Who: every mutation here acts on the viewer's own user, never another's. Anyone with a user account
(staff, merchant staff, customers) edits their own profile; accounts, points and erasure belong to
customers (the mobile app). Admins act on other people through the admin mutations, not these.
The processor's card transactions are schema/users/transaction_mutations.py (mixed in below).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import strawberry
from strawberry import relay

from core.context import Ctx
from core.errors import Forbidden
from core.policies import CUSTOMERS, PEOPLE
from loaders.users import AccountByIdLoader, UserByIdLoader
from models import users as m
from resolvers.auth import revocations
from resolvers.outcomes import ProblemCode
from resolvers.users import erasure
from resolvers.users import writes as user_writes
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, pk_of, run_mutation
from schema.permissions import allow
from schema.users.transaction_mutations import TransactionMutation
from schema.users.types import User
from schema.users.wallet_types import Account, AccountKind, RewardEntry

# Each mutation acts on the viewer's own rows, which the users' loaders always show the viewer.
REREAD_USER = by_id(UserByIdLoader)
REREAD_ACCOUNT = by_id(AccountByIdLoader)


def _own_user_id(info: Ctx) -> int:
    """The viewer's own user; a role with no person behind it (an API key) has none to change."""
    user_id = info.context.viewer.user_id
    if user_id is None:
        raise Forbidden("Only a signed-in person can change their own account.")
    return user_id


@strawberry.input(description="Changes to your own profile; omitted fields stay as they are.")
class UpdateMyProfileInput:
    name: str | None = strawberry.field(default=None, description="Display name (1-200 characters).")
    email: str | None = strawberry.field(
        default=None, description="Email address; unique whatever its letter case."
    )
    phone: str | None = strawberry.field(
        default=None, description="Phone in E.164 form (+15551234567); an empty string removes it."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A payment account to link to your profile.")
class LinkAccountInput:
    kind: AccountKind = strawberry.field(description="Card, bank account or wallet.")
    institution: str = strawberry.field(description="Bank or issuer (1-120 characters).")
    last_four: str = strawberry.field(description="Last four digits of the number.")
    currency: str = strawberry.field(description="ISO 4217 code, such as USD.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="One of your accounts to unlink (it stays in your history as UNLINKED).")
class UnlinkAccountInput:
    id: relay.GlobalID = strawberry.field(description="The account.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Points to spend from your balance.")
class RedeemRewardsInput:
    points: int = strawberry.field(description="How many points, more than 0 and at most your balance.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Erase your account and personal data (GDPR); it cannot be undone.")
class DeleteMyAccountInput:
    confirm: bool = strawberry.field(description="Must be true: you understand it cannot be undone.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="Your profile as written, or why nothing was written.")
class UpdateMyProfilePayload:
    user: User | None = strawberry.field(description="Your profile after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The account as written, or why nothing was written.")
class AccountPayload:
    account: Account | None = strawberry.field(description="The account after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The redemption booked, or why nothing was.")
class RedeemRewardsPayload:
    entry: RewardEntry | None = strawberry.field(description="The ledger entry (negative points).")
    balance: int | None = strawberry.field(
        description="Your points balance after the redemption.", permission_classes=[allow(CUSTOMERS)]
    )
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The erased account, or why nothing was erased.")
class DeleteMyAccountPayload:
    erased_user_id: relay.GlobalID | None = strawberry.field(description="Global id of the erased user.")
    erased_at: dt.datetime | None = strawberry.field(description="When it was erased (UTC).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _account_payload(row: m.Account | None, errors: list[UserError]) -> AccountPayload:
    return AccountPayload(account=None if row is None else Account.from_row(row), user_errors=errors)


@strawberry.type
class UserMutation(TransactionMutation):
    @strawberry.mutation(
        description="Change your own name, email or phone.", permission_classes=[allow(PEOPLE)]
    )
    async def update_my_profile(
        self, info: Ctx, input: UpdateMyProfileInput
    ) -> UpdateMyProfilePayload | None:
        user_id = _own_user_id(info)
        changes = user_writes.ProfileChanges(name=input.name, email=input.email, phone=input.phone)
        write = partial(user_writes.update_profile, user_id=user_id, changes=changes)
        row, errors = await run_mutation(
            info, operation="updateMyProfile", input=input, write=write, reread=REREAD_USER
        )
        return UpdateMyProfilePayload(user=None if row is None else User.from_row(row), user_errors=errors)

    @strawberry.mutation(
        description="Link a payment account to your profile.", permission_classes=[allow(CUSTOMERS)]
    )
    async def link_account(self, info: Ctx, input: LinkAccountInput) -> AccountPayload | None:
        user_id = _own_user_id(info)
        data = user_writes.AccountFields(
            kind=m.AccountKind(input.kind.value),
            institution=input.institution,
            last_four=input.last_four,
            currency=input.currency,
        )
        write = partial(user_writes.link_account, user_id=user_id, data=data)
        row, errors = await run_mutation(
            info, operation="linkAccount", input=input, write=write, reread=REREAD_ACCOUNT
        )
        return _account_payload(row, errors)

    @strawberry.mutation(
        description="Unlink one of your accounts; its transactions stay in your history.",
        permission_classes=[allow(CUSTOMERS)],
    )
    async def unlink_account(self, info: Ctx, input: UnlinkAccountInput) -> AccountPayload | None:
        user_id = _own_user_id(info)
        account_id = pk_of(input.id, "Account")
        if account_id is None:
            missing = UserError(field="id", message="Not an Account id.", code=ProblemCode.NOT_FOUND)
            return _account_payload(None, [missing])

        write = partial(user_writes.unlink_account, user_id=user_id, account_id=account_id)
        row, errors = await run_mutation(
            info, operation="unlinkAccount", input=input, write=write, reread=REREAD_ACCOUNT
        )
        return _account_payload(row, errors)

    @strawberry.mutation(
        description="Spend reward points; refused (INSUFFICIENT_BALANCE) when the balance does not cover it.",
        permission_classes=[allow(CUSTOMERS)],
    )
    async def redeem_rewards(self, info: Ctx, input: RedeemRewardsInput) -> RedeemRewardsPayload | None:
        write = partial(user_writes.redeem_rewards, user_id=_own_user_id(info), points=input.points)
        done, errors = await run_mutation(
            info, operation="redeemRewards", input=input, write=write, reread=user_writes.redemption_of
        )
        if done is None:
            return RedeemRewardsPayload(entry=None, balance=None, user_errors=errors)
        return RedeemRewardsPayload(
            entry=RewardEntry.from_row(done.entry), balance=done.balance, user_errors=errors
        )

    @strawberry.mutation(
        description=(
            "Erase your account (GDPR): personal data is removed everywhere, sign-ins are revoked, "
            "anonymised transactions and points history are kept."
        ),
        permission_classes=[allow(CUSTOMERS)],
    )
    async def delete_my_account(
        self, info: Ctx, input: DeleteMyAccountInput
    ) -> DeleteMyAccountPayload | None:
        user_id = _own_user_id(info)
        if not input.confirm:
            refused = UserError(
                field="confirm",
                message="Set confirm to true to erase your account.",
                code=ProblemCode.REQUIRED,
            )
            return DeleteMyAccountPayload(erased_user_id=None, erased_at=None, user_errors=[refused])

        write = partial(erasure.erase_user, user_id=user_id, now=dt.datetime.now(dt.UTC))
        done, errors = await run_mutation(
            info, operation="deleteMyAccount", input=input, write=write, reread=erasure.erasure_of
        )
        if done is None:
            return DeleteMyAccountPayload(erased_user_id=None, erased_at=None, user_errors=errors)
        # Committed: from now on every request carrying this account's access tokens is refused.
        await revocations.remember_erasure(info.context.redis, info.context.settings, user_id=done.user_id)
        return DeleteMyAccountPayload(
            erased_user_id=relay.GlobalID("User", str(done.user_id)), erased_at=done.erased_at, user_errors=[]
        )
