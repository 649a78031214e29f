"""The mobile app's own-profile and account mutations: validation as userErrors with nothing written,
case-insensitive email uniqueness, the audit trail, own rows only, and who may call them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.users import Account, User
from tests.models import factories as f
from tests.support import codes
from tests.users.support import ADMIN, SERVICE, customer, gid

UPDATE = """
mutation ($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) { user { id name email phone } userErrors { field code message } }
}
"""
LINK = """
mutation ($input: LinkAccountInput!) {
  linkAccount(input: $input) {
    account { id kind institution lastFour currency status } userErrors { field code }
  }
}
"""
UNLINK = """
mutation ($id: ID!) {
  unlinkAccount(input: {id: $id}) { account { id status } userErrors { field code } }
}
"""
ACCOUNT = {"kind": "CREDIT_CARD", "institution": "Chase", "lastFour": "4242", "currency": "USD"}


async def _count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def _errors(payload: dict) -> list[tuple[str | None, str]]:  # type: ignore[type-arg]
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# profile ----------------------------------------------------------------------------------------


async def test_a_customer_updates_their_profile_and_it_is_audited(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer
    user = await f.make_user(db, name="Ann", phone=None)
    changes = {"name": " Ann Lee ", "email": "Ann.Lee@Example.com", "phone": "+447700900123"}

    # when they change name, email and phone
    result = await gql(UPDATE, {"input": changes}, viewer=customer(user.id))

    # then the profile is changed (trimmed) and one audit row holds before and after
    assert result.errors is None, result.errors
    payload = result.data["updateMyProfile"]
    assert payload["userErrors"] == []
    assert payload["user"] == {
        "id": gid("User", user.id),
        "name": "Ann Lee",
        "email": "Ann.Lee@Example.com",
        "phone": "+447700900123",
    }
    audit = (await db.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == user.id))).one()
    assert (audit.action, audit.entity_type, audit.actor_label) == (
        "user.update_profile",
        "user",
        f"user:{user.id}",
    )
    assert (audit.before["name"], audit.after["name"]) == ("Ann", "Ann Lee")
    assert "password_hash" not in audit.after


async def test_an_empty_phone_removes_it_and_omitted_fields_stay(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, name="Bo", phone="+15551234567")

    result = await gql(UPDATE, {"input": {"phone": ""}}, viewer=customer(user.id))

    assert result.data["updateMyProfile"]["user"]["phone"] is None
    assert result.data["updateMyProfile"]["user"]["name"] == "Bo"


async def test_no_change_writes_no_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, name="Cy")

    result = await gql(UPDATE, {"input": {"name": "Cy"}}, viewer=customer(user.id))

    assert result.data["updateMyProfile"]["userErrors"] == []
    assert await _count(db, AuditLogEntry) == 0


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": "  "}, "name", "REQUIRED"),
        ({"name": "x" * 201}, "name", "TOO_LONG"),
        ({"email": ""}, "email", "REQUIRED"),
        ({"email": "not-an-email"}, "email", "INVALID"),
        ({"email": "ann@localhost"}, "email", "INVALID"),
        ({"email": "a b@example.com"}, "email", "INVALID"),
        ({"email": "a" * 310 + "@example.com"}, "email", "TOO_LONG"),
        ({"phone": "5551234567"}, "phone", "INVALID"),
        ({"phone": "+0551234567"}, "phone", "INVALID"),
        ({"phone": "+1555"}, "phone", "INVALID"),
        ({"phone": "+1555123456789012"}, "phone", "INVALID"),
    ],
    ids=[
        "blank name",
        "long name",
        "empty email",
        "no at sign",
        "no domain dot",
        "space in email",
        "long email",
        "phone without plus",
        "phone country code 0",
        "phone too short",
        "phone too long",
    ],
)
async def test_invalid_profile_input_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, changes, field, code
) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, name="Di", email="di@example.com", phone="+15550000000")

    result = await gql(UPDATE, {"input": changes}, viewer=customer(user.id))

    assert result.errors is None, result.errors
    payload = result.data["updateMyProfile"]
    assert payload["user"] is None
    assert (field, code) in _errors(payload)
    await db.refresh(user)
    assert (user.name, user.email, user.phone) == ("Di", "di@example.com", "+15550000000")
    assert await _count(db, AuditLogEntry) == 0


async def test_an_email_taken_in_any_letter_case_is_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_user(db, email="taken@example.com")
    user = await f.make_user(db, email="mine@example.com")

    result = await gql(UPDATE, {"input": {"email": "TAKEN@Example.COM"}}, viewer=customer(user.id))

    assert _errors(result.data["updateMyProfile"]) == [("email", "TAKEN")]
    assert (await db.get(User, user.id)).email == "mine@example.com"


async def test_changing_only_the_case_of_your_own_email_is_allowed(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, email="me@example.com")

    result = await gql(UPDATE, {"input": {"email": "Me@Example.com"}}, viewer=customer(user.id))

    assert result.data["updateMyProfile"]["user"]["email"] == "Me@Example.com"


async def test_the_unique_index_decides_a_race_for_an_email(db: AsyncSession, gql, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # given another account that takes the email after the pre-check looked (simulated: no pre-check)
    await f.make_user(db, email="race@example.com")
    user = await f.make_user(db, email="slow@example.com", name="Slow")
    real_scalar = AsyncSession.scalar

    async def blind_precheck(self, statement, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "lower(users.email)" in str(statement):
            return None
        return await real_scalar(self, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "scalar", blind_precheck)

    # when the write reaches the unique index
    result = await gql(
        UPDATE, {"input": {"email": "RACE@example.com", "name": "Fast"}}, viewer=customer(user.id)
    )

    # then it is TAKEN, nothing is written, and the transaction was still usable to report it
    monkeypatch.undo()
    assert _errors(result.data["updateMyProfile"]) == [("email", "TAKEN")]
    await db.refresh(user)
    assert (user.email, user.name) == ("slow@example.com", "Slow")


async def test_staff_edit_their_own_profile(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    staff = await f.make_user(db, role="marketer", name="Mark")

    result = await gql(
        UPDATE, {"input": {"name": "Mark E."}}, viewer=Viewer(role=Role.MARKETER, user_id=staff.id)
    )

    # the name changes; the email stays hidden from a marketer even in their own payload
    assert result.data["updateMyProfile"]["user"]["name"] == "Mark E."
    assert codes(result) == {"FORBIDDEN"}


async def test_an_erased_user_cannot_update_a_profile(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    user = await f.make_user(db, email=None, name=None, deleted_at=datetime(2024, 1, 1, tzinfo=UTC))

    result = await gql(UPDATE, {"input": {"name": "Back"}}, viewer=customer(user.id))

    assert _errors(result.data["updateMyProfile"]) == [(None, "NOT_FOUND")]


@pytest.mark.parametrize(
    "viewer",
    [SERVICE, ANONYMOUS, ADMIN],
    ids=["service", "anonymous", "admin api key (no person)"],
)
async def test_only_a_person_updates_a_profile(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await f.make_user(db)

    result = await gql(UPDATE, {"input": {"name": "Nobody"}}, viewer=viewer)

    assert result.data == {"updateMyProfile": None}
    assert codes(result) == {"FORBIDDEN"}
    assert await _count(db, AuditLogEntry) == 0


async def test_a_profile_update_retried_with_its_key_writes_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db, name="Eve")
    variables = {"input": {"name": "Eve Adams", "idempotencyKey": "profile-1"}}

    first = await gql(UPDATE, variables, viewer=customer(user.id))
    second = await gql(UPDATE, variables, viewer=customer(user.id))

    assert first.data == second.data
    assert await _count(db, AuditLogEntry) == 1


# accounts ---------------------------------------------------------------------------------------


async def test_a_customer_links_an_account(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)

    result = await gql(LINK, {"input": {**ACCOUNT, "currency": "eur"}}, viewer=customer(user.id))

    assert result.errors is None, result.errors
    account = result.data["linkAccount"]["account"]
    assert {k: account[k] for k in ("kind", "institution", "lastFour", "currency", "status")} == {
        "kind": "CREDIT_CARD",
        "institution": "Chase",
        "lastFour": "4242",
        "currency": "EUR",
        "status": "ACTIVE",
    }
    row = (await db.scalars(select(Account).where(Account.user_id == user.id))).one()
    assert account["id"] == gid("Account", row.id)
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.action, audit.entity_type, audit.entity_id) == ("account.link", "account", row.id)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"institution": " "}, "institution", "REQUIRED"),
        ({"institution": "x" * 121}, "institution", "TOO_LONG"),
        ({"lastFour": "424"}, "lastFour", "INVALID"),
        ({"lastFour": "42a2"}, "lastFour", "INVALID"),
        ({"currency": "US"}, "currency", "INVALID"),
        ({"currency": "U5D"}, "currency", "INVALID"),
    ],
    ids=["blank institution", "long institution", "three digits", "a letter", "two letters", "a digit"],
)
async def test_invalid_account_input_writes_nothing(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)

    result = await gql(LINK, {"input": {**ACCOUNT, **changes}}, viewer=customer(user.id))

    assert (field, code) in _errors(result.data["linkAccount"])
    assert (await _count(db, Account), await _count(db, AuditLogEntry)) == (0, 0)


async def test_unlinking_keeps_the_account_and_its_history(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    account = await f.make_account(db)
    await f.make_transaction(db, account_id=account.id, user_id=account.user_id)

    result = await gql(UNLINK, {"id": gid("Account", account.id)}, viewer=customer(account.user_id))
    again = await gql(UNLINK, {"id": gid("Account", account.id)}, viewer=customer(account.user_id))

    assert result.data["unlinkAccount"]["account"]["status"] == "UNLINKED"
    assert _errors(again.data["unlinkAccount"]) == [("id", "INVALID_TRANSITION")]
    await db.refresh(account)
    assert account.status == "unlinked"
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.before["status"], audit.after["status"]) == ("active", "unlinked")


async def test_another_users_account_is_not_found(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    theirs = await f.make_account(db)
    me = await f.make_user(db)

    result = await gql(UNLINK, {"id": gid("Account", theirs.id)}, viewer=customer(me.id))
    not_an_account = await gql(UNLINK, {"id": gid("User", me.id)}, viewer=customer(me.id))

    assert _errors(result.data["unlinkAccount"]) == [("id", "NOT_FOUND")]
    assert _errors(not_an_account.data["unlinkAccount"]) == [("id", "NOT_FOUND")]
    await db.refresh(theirs)
    assert theirs.status == "active"


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
async def test_only_customers_link_and_unlink(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    account = await f.make_account(db)

    linked = await gql(LINK, {"input": ACCOUNT}, viewer=viewer)
    unlinked = await gql(UNLINK, {"id": gid("Account", account.id)}, viewer=viewer)

    assert linked.data == {"linkAccount": None} and codes(linked) == {"FORBIDDEN"}
    assert unlinked.data == {"unlinkAccount": None} and codes(unlinked) == {"FORBIDDEN"}
    assert await _count(db, Account) == 1
    assert await _count(db, AuditLogEntry) == 0
