"""deleteMyAccount (GDPR erasure): no trace of the person's email, phone or name remains anywhere in
the database, while transactions, the ledger and their sums stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry, IdempotencyKey
from models.auth import RefreshTokenFamily
from models.flags import FlagUsage
from models.ml import UserMerchantAffinity, UserOptimalSendTime
from models.users import Account, RewardEntry, Transaction, User
from tests.models import factories as f
from tests.support import codes
from tests.users.support import SERVICE, customer, gid

ERASE = """
mutation ($confirm: Boolean!) {
  deleteMyAccount(input: {confirm: $confirm}) { erasedUserId erasedAt userErrors { field code } }
}
"""
UPDATE = """
mutation ($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) { user { email phone } userErrors { field code } }
}
"""
LINK = """
mutation {
  linkAccount(input: {kind: DEBIT_CARD, institution: "Bank of Quixote", lastFour: "7788", currency: "USD"}) {
    account { id } userErrors { code }
  }
}
"""
OLD_EMAIL, NEW_EMAIL = "Zelda.Unique-7@example.com", "zelda.renamed-7@example.org"
OLD_PHONE, NEW_PHONE = "+15557654321", "+15559876543"
# Every string that identifies the person; none may survive anywhere.
TRACES = (OLD_EMAIL, NEW_EMAIL, OLD_PHONE, NEW_PHONE, "Quixote", "ZeldaPhone/1.0")

TABLES = """
SELECT quote_ident(table_name) FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
"""


async def _tables_quoting(db: AsyncSession, trace: str) -> list[str]:
    """Every table with a row whose text (all columns, JSON included) contains `trace`, any case."""
    found = []
    for table in (await db.scalars(text(TABLES))).all():
        query = text(f"SELECT count(*) FROM {table} t WHERE strpos(lower(t::text), lower(:trace)) > 0")
        if await db.scalar(query, {"trace": trace}):
            found.append(table)
    return found


async def _a_full_life(db: AsyncSession, gql) -> User:  # type: ignore[no-untyped-def]
    """A customer who did everything that leaves personal data behind."""
    user = await f.make_user(
        db, email=OLD_EMAIL, name="Zelda Quixote", phone=OLD_PHONE, password_hash="argon2$secret"
    )
    me = customer(user.id)
    # a profile change: audit before/after, and a stored response (header key) quoting the new email
    changed = await gql(
        UPDATE, {"input": {"email": NEW_EMAIL, "phone": NEW_PHONE}}, viewer=me, idempotency_key="k1"
    )
    assert changed.data["updateMyProfile"]["userErrors"] == []
    linked = await gql(LINK, viewer=me)
    assert linked.data["linkAccount"]["userErrors"] == []
    account = (await db.scalars(select(Account).where(Account.user_id == user.id))).one()
    # money: a transaction that earned points, and a redemption
    merchant = await f.make_merchant(db)
    tx = await f.make_transaction(
        db, user_id=user.id, account_id=account.id, merchant_id=merchant.id, amount=Decimal("40.00")
    )
    await f.make_reward_entry(db, user_id=user.id, kind="earn", points=40, transaction_id=tx.id)
    await f.make_reward_entry(db, user_id=user.id, kind="redeem", points=-15)
    # sessions, profiling and usage events
    await f.make_refresh_token_family(
        db, user_id=user.id, user_agent="ZeldaPhone/1.0", ip_address="203.0.113.9"
    )
    await f.make_user_merchant_affinity(db, user_id=user.id, merchant_id=merchant.id)
    await f.make_user_optimal_send_time(db, user_id=user.id)
    flag = await f.make_feature_flag(db)
    await f.make_feature_flag_usage(
        db, flag_id=flag.id, user_id=user.id, device_info={"model": "ZeldaPhone/1.0"}
    )
    # other people's records quoting the person: an admin's audit note and an admin's stored response
    await f.make_audit_log_entry(
        db, entity_type="campaign", after={"note": f"asked by {OLD_EMAIL.upper()}", "budget": "10"}
    )
    await f.make_idempotency_key(db, scope="user:999999", response={"data": {"user": {"phone": NEW_PHONE}}})
    return user


async def test_erasure_leaves_no_trace_of_the_person_anywhere(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer with a full history, whose PII is found in many tables
    user = await _a_full_life(db, gql)
    assert set(await _tables_quoting(db, NEW_EMAIL)) >= {"users", "audit_log", "idempotency_keys"}
    assert set(await _tables_quoting(db, OLD_EMAIL)) >= {"audit_log"}

    # when they erase their account
    result = await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    # then it is done
    assert result.errors is None, result.errors
    payload = result.data["deleteMyAccount"]
    assert payload["erasedUserId"] == gid("User", user.id)
    assert payload["userErrors"] == []
    erased_at = datetime.fromisoformat(payload["erasedAt"])
    assert datetime.now(UTC) - timedelta(minutes=1) < erased_at <= datetime.now(UTC)
    # and no table holds any of their emails, phones, name, bank or device any more
    for trace in TRACES:
        assert await _tables_quoting(db, trace) == [], trace


async def test_erasure_keeps_money_history_and_anonymises_the_rest(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _a_full_life(db, gql)
    sums = select(func.count(), func.sum(Transaction.amount)).where(Transaction.user_id == user.id)
    before_tx = tuple((await db.execute(sums)).one())
    before_ledger = await db.scalar(
        select(func.sum(RewardEntry.points)).where(RewardEntry.user_id == user.id)
    )

    await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    # the user row stays, without PII or secrets, with its balance
    await db.refresh(user)
    assert (user.email, user.name, user.phone, user.password_hash) == (None, None, None, None)
    assert user.deleted_at is not None
    assert user.reward_points == before_ledger == 25
    # transactions and ledger are untouched
    assert tuple((await db.execute(sums)).one()) == before_tx == (1, Decimal("40.00"))
    assert await db.scalar(select(func.sum(RewardEntry.points)).where(RewardEntry.user_id == user.id)) == 25
    # accounts unlinked, the bank gone, the last four kept
    account = (await db.scalars(select(Account).where(Account.user_id == user.id))).one()
    await db.refresh(account)
    assert (account.status, account.institution, account.last_four) == ("unlinked", "erased", "7788")
    # sessions revoked
    family = (await db.scalars(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == user.id))).one()
    await db.refresh(family)
    assert family.revoked_at is not None and family.revoked_reason == "account_erased"
    assert (family.user_agent, family.ip_address) == (None, None)
    # profiling gone, usage events anonymous
    for model in (UserMerchantAffinity, UserOptimalSendTime):
        assert await db.scalar(select(func.count()).where(model.user_id == user.id)) == 0
    assert await db.scalar(select(FlagUsage.device_info).where(FlagUsage.user_id == user.id)) is None
    # stored responses cleared, what they produced still named
    key = await db.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "k1"))
    await db.refresh(key)
    assert key.response is None and key.result_ref == {"type": "User", "id": user.id}


async def test_the_audit_log_keeps_what_happened_but_not_who(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await _a_full_life(db, gql)

    await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    rows = (await db.scalars(select(AuditLogEntry).order_by(AuditLogEntry.id))).all()
    for row in rows:
        await db.refresh(row)
    about_user = [r for r in rows if r.entity_type == "user" and r.entity_id == user.id]
    assert [r.action for r in about_user] == ["user.update_profile", "user.erase"]
    profile = about_user[0]
    assert not {"email", "phone", "name"} & (set(profile.before) | set(profile.after))
    assert profile.after["loyalty_tier"] == "bronze"  # the rest of the change is kept
    erase = about_user[1]
    assert erase.ip_address is None and erase.actor_label == f"user:{user.id}"
    assert erase.after["erased"] is True and erase.after["accounts_unlinked"] == 1
    assert all(r.ip_address is None for r in rows if r.actor_user_id == user.id)
    note = next(r for r in rows if r.entity_type == "campaign")
    assert note.after == {"note": "asked by [erased]", "budget": "10"}


async def test_an_erased_email_can_be_used_again(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, email="reuse@example.com")
    other = await f.make_user(db)
    await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    result = await gql(UPDATE, {"input": {"email": "reuse@example.com"}}, viewer=customer(other.id))

    assert result.data["updateMyProfile"]["userErrors"] == []


async def test_erasing_twice_changes_nothing_more(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    first = await gql(ERASE, {"confirm": True}, viewer=customer(user.id))
    second = await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    assert second.data == first.data
    assert await db.scalar(select(func.count()).where(AuditLogEntry.action == "user.erase")) == 1


async def test_after_erasure_the_account_cannot_be_used(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    await gql(ERASE, {"confirm": True}, viewer=customer(user.id))

    linked = await gql(LINK, viewer=customer(user.id))

    assert linked.data["linkAccount"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert await db.scalar(select(func.count()).select_from(Account)) == 0


async def test_erasure_needs_confirmation(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, email="keep@example.com")

    result = await gql(ERASE, {"confirm": False}, viewer=customer(user.id))

    assert result.data["deleteMyAccount"] == {
        "erasedUserId": None,
        "erasedAt": None,
        "userErrors": [{"field": "confirm", "code": "REQUIRED"}],
    }
    await db.refresh(user)
    assert (user.email, user.deleted_at) == ("keep@example.com", None)
    assert await db.scalar(select(func.count()).select_from(AuditLogEntry)) == 0


async def test_an_unknown_viewer_user_is_not_found(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(ERASE, {"confirm": True}, viewer=customer(f.MISSING_ID))

    assert result.data["deleteMyAccount"]["userErrors"] == [{"field": None, "code": "NOT_FOUND"}]


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
async def test_only_customers_erase_their_account(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, email="stay@example.com")

    result = await gql(ERASE, {"confirm": True}, viewer=viewer)

    assert result.data == {"deleteMyAccount": None}
    assert codes(result) == {"FORBIDDEN"}
    await db.refresh(user)
    assert user.deleted_at is None
