"""Users' writes from the mobile app: the person's own profile, linked accounts and redemptions.
(Card transactions are resolvers/users/transaction_writes.py; erasure is resolvers/users/erasure.py.)

The balance (users.reward_points) is kept by the rewards_ledger trigger and its CHECK (>= 0): a
redemption is just a negative ledger entry. The trigger's UPDATE locks the user row, so concurrent
redemptions apply one after the other and the one that would overdraw fails the CHECK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from loaders.users import RewardEntryByIdLoader
from models.users import Account, AccountKind, AccountStatus, RewardEntry, RewardKind, User
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

# Deliberately simple (no quoted local parts, no IP-literal domains): what a mobile form accepts.
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164, as the users.phone CHECK says
LAST_FOUR = re.compile(r"[0-9]{4}")
CURRENCY = re.compile(r"[A-Z]{3}")
NAME_MAX, EMAIL_MAX, INSTITUTION_MAX = 200, 320, 120
UNIQUE_EMAIL = "uq_users_lower_email"
NON_NEGATIVE_BALANCE = "ck_users_reward_points_non_negative"
GONE = "Your account does not exist or was erased."


def constraint_of(exc: IntegrityError) -> str | None:
    """The name of the constraint a database error is about (asyncpg reports it)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


Lock = Literal["update", "no_key_update", "key_share"]


async def live_user(session: AsyncSession, user_id: int, *, lock: Lock | None = None) -> User | None:
    """The user unless erased, row-locked in the given mode (FOR UPDATE / NO KEY UPDATE / KEY SHARE)."""
    query = select(User).where(User.id == user_id)
    if lock == "update":
        query = query.with_for_update()
    elif lock == "no_key_update":
        query = query.with_for_update(key_share=True)
    elif lock == "key_share":
        query = query.with_for_update(read=True, key_share=True)
    user = await session.scalar(query)
    return None if user is None or user.deleted_at is not None else user


# profile ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """None leaves a field as it is; an empty phone removes the phone number."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


def _profile_values(changes: ProfileChanges, problems: Problems) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.name is not None:
        values["name"] = changes.name.strip()
        problems.require_length("name", values["name"], max_length=NAME_MAX, required=True)
    if changes.email is not None:
        email = values["email"] = changes.email.strip()
        problems.require_length("email", email, max_length=EMAIL_MAX, required=True)
        if email and len(email) <= EMAIL_MAX and not EMAIL.fullmatch(email):
            problems.add("email", "Not an email address.")
    if changes.phone is not None:
        phone = changes.phone.strip()
        values["phone"] = phone or None
        if phone and not PHONE.fullmatch(phone):
            problems.add("phone", "An international number in E.164 form, such as +15551234567.")
    return values


async def update_profile(
    *, session: AsyncSession, actor: Actor, user_id: int, changes: ProfileChanges
) -> Outcome[User]:
    """Change the person's own name, email or phone; the email stays unique whatever its case."""
    user = await live_user(session, user_id, lock="update")
    if user is None:
        return Outcome.one_problem(None, GONE, ProblemCode.NOT_FOUND)
    problems = Problems()
    values = _profile_values(changes, problems)
    if problems:
        return Outcome.refused(problems)
    values = {key: value for key, value in values.items() if getattr(user, key) != value}
    if not values:
        return Outcome(value=user, ref=("User", user.id))
    taken = Outcome[User].one_problem("email", "Another account uses this email.", ProblemCode.TAKEN)
    if "email" in values:
        other = await session.scalar(
            select(User.id).where(func.lower(User.email) == values["email"].lower(), User.id != user.id)
        )
        if other is not None:
            return taken
    before = snapshot(user)
    try:
        # A concurrent sign-up can take the email between the check and the write: the unique index
        # decides, inside a savepoint so the transaction stays usable.
        async with session.begin_nested():
            for key, value in values.items():
                setattr(user, key, value)
            await session.flush()
    except IntegrityError as exc:
        if constraint_of(exc) == UNIQUE_EMAIL:
            return taken
        raise
    await session.refresh(user)
    await record_change(
        session,
        actor=actor,
        action="user.update_profile",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=snapshot(user),
    )
    return Outcome(value=user, ref=("User", user.id))


# accounts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountFields:
    kind: AccountKind
    institution: str
    last_four: str
    currency: str


async def link_account(
    *, session: AsyncSession, actor: Actor, user_id: int, data: AccountFields
) -> Outcome[Account]:
    """Link a payment account to the person."""
    institution, currency = data.institution.strip(), data.currency.strip().upper()
    problems = Problems()
    problems.require_length("institution", institution, max_length=INSTITUTION_MAX, required=True)
    if not LAST_FOUR.fullmatch(data.last_four):
        problems.add("last_four", "The last four digits of the number.")
    if not CURRENCY.fullmatch(currency):
        problems.add("currency", "An ISO 4217 code such as USD.")
    if problems:
        return Outcome.refused(problems)
    # KEY SHARE: an erasure (FOR UPDATE) waits for this link, or this link sees the erasure.
    if await live_user(session, user_id, lock="key_share") is None:
        return Outcome.one_problem(None, GONE, ProblemCode.NOT_FOUND)
    account = await session.scalar(
        insert(Account)
        .values(
            user_id=user_id,
            kind=data.kind.value,
            institution=institution,
            last_four=data.last_four,
            currency=currency,
        )
        .returning(Account)
    )
    assert account is not None
    await record_change(
        session,
        actor=actor,
        action="account.link",
        entity_type="account",
        entity_id=account.id,
        after=snapshot(account),
    )
    return Outcome(value=account, ref=("Account", account.id))


async def unlink_account(
    *, session: AsyncSession, actor: Actor, user_id: int, account_id: int
) -> Outcome[Account]:
    """Mark one of the person's accounts UNLINKED; it stays, with its transaction history."""
    account = await session.scalar(
        select(Account).where(Account.id == account_id, Account.user_id == user_id).with_for_update()
    )
    if account is None:
        return Outcome.one_problem("id", "No such account.", ProblemCode.NOT_FOUND)
    if account.status == AccountStatus.UNLINKED.value:
        return Outcome.one_problem("id", "The account is already unlinked.", ProblemCode.INVALID_TRANSITION)
    before = snapshot(account)
    account.status = AccountStatus.UNLINKED.value
    await session.flush()
    await session.refresh(account)
    await record_change(
        session,
        actor=actor,
        action="account.unlink",
        entity_type="account",
        entity_id=account.id,
        before=before,
        after=snapshot(account),
    )
    return Outcome(value=account, ref=("Account", account.id))


# redemptions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redemption:
    entry: RewardEntry
    balance: int


REDEMPTION_DESCRIPTION = "Redeemed in the app"


async def redeem_rewards(
    *, session: AsyncSession, actor: Actor, user_id: int, points: int
) -> Outcome[Redemption]:
    """Spend points: a negative ledger entry, refused when the balance does not cover it."""
    problems = Problems()
    problems.require_range("points", points, low=1)
    if problems:
        return Outcome.refused(problems)
    if await live_user(session, user_id) is None:
        return Outcome.one_problem(None, GONE, ProblemCode.NOT_FOUND)
    try:
        # No balance check here: the CHECK on users.reward_points is the one rule, applied under
        # the row lock the trigger takes, so two redemptions can never both spend the same points.
        async with session.begin_nested():
            entry = await session.scalar(
                insert(RewardEntry)
                .values(
                    user_id=user_id,
                    kind=RewardKind.REDEEM.value,
                    points=-points,
                    # Written by the server, never typed by the user: the append-only ledger could not
                    # erase personal data put there (GDPR erasure keeps ledger rows as they are).
                    description=REDEMPTION_DESCRIPTION,
                )
                .returning(RewardEntry)
            )
    except IntegrityError as exc:
        if constraint_of(exc) == NON_NEGATIVE_BALANCE:
            return Outcome.one_problem(
                "points", "Your balance does not cover this redemption.", ProblemCode.INSUFFICIENT_BALANCE
            )
        raise
    assert entry is not None
    balance = await _balance(session, user_id)
    await record_change(
        session,
        actor=actor,
        action="rewards.redeem",
        entity_type="user",
        entity_id=user_id,
        after={"ledger_entry_id": entry.id, "points": entry.points, "balance": balance},
    )
    return Outcome(value=Redemption(entry=entry, balance=balance), ref=("RewardEntry", entry.id))


async def redemption_of(context: RequestContext, ref: dict[str, Any]) -> Redemption | None:
    """A redemption as it stands now (idempotent replays): the customer's own entry, through its loader."""
    entry = await context.loader(RewardEntryByIdLoader).load(int(ref["id"]))
    if entry is None:
        return None
    # The column, not a loaded User: the ledger trigger changed the balance behind the ORM's back.
    async with context.read_session() as session:
        return Redemption(entry=entry, balance=await _balance(session, entry.user_id))


async def _balance(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(select(User.reward_points).where(User.id == user_id)) or 0)
