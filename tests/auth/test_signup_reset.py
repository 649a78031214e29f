"""signUp asks for a customer account and answers the same whether or not the email has one: the
address gets a single-use link either way, which sets the password (of the new account, or of the
existing one); a forgotten password is reset with the same kind of link, and a reset ends every
session of the account."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.notifier import RESET_LINK, LogNotifier, masked_email
from core.settings import AppEnv
from models.auth import PasswordResetToken
from models.users import User
from tests.auth.support import PASSWORD, RecordingNotifier
from tests.auth.test_login import LOGIN
from tests.auth.test_refresh import REFRESH

SIGN_UP = """
mutation($email: String!, $password: String!, $name: String) {
  signUp(input: {email: $email, password: $password, name: $name}) {
    session { accessToken refreshToken role }
    userErrors { field code }
  }
}
"""
REQUEST = (
    "mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok userErrors { code } } }"
)
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) { ok userErrors { field message code } }
}
"""
NEW_PASSWORD = "a brand new passphrase"


async def _link_token(email: str) -> str:
    """The token of the last link delivered to `email`."""
    address, link = RecordingNotifier.sent[-1]
    assert address == email
    return link.rsplit("/", 1)[1]


async def _users(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(User)) or 0)


async def test_sign_up_answers_a_new_and_a_taken_email_alike(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    new = await auth_gql(SIGN_UP, {"email": "new@example.com", "password": PASSWORD, "name": "Neo"})
    taken = await auth_gql(SIGN_UP, {"email": "ANN@example.com", "password": "another passphrase"})

    # The same answer, and a link delivered to the address either way: the caller learns nothing.
    assert new.errors is None and taken.errors is None
    assert new.data == taken.data == {"signUp": {"session": None, "userErrors": []}}
    assert [email for email, _ in RecordingNotifier.sent] == ["new@example.com", "ann@example.com"]


async def test_a_new_account_signs_in_once_its_link_set_the_password(auth_gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await auth_gql(SIGN_UP, {"email": "New@Example.com", "password": PASSWORD, "name": "Neo"})
    user = await db.scalar(select(User).where(User.email == "New@Example.com"))
    assert user is not None and user.role == "customer" and user.name == "Neo"
    # Until the address is proven, the account has no password: a login is refused like a wrong one,
    # so an attacker cannot tell a new address from a taken one by signing in after signing up.
    early = await auth_gql(LOGIN, {"email": "new@example.com", "password": PASSWORD})
    assert early.data["login"]["userErrors"][0]["message"] == "Wrong email or password."

    token = await _link_token("New@Example.com")
    set_password = await auth_gql(RESET, {"token": token, "password": PASSWORD})
    login = await auth_gql(LOGIN, {"email": "new@example.com", "password": PASSWORD})

    assert set_password.data["resetPassword"] == {"ok": True, "userErrors": []}
    assert login.data["login"]["session"]["role"] == "customer"


async def test_a_taken_email_changes_nothing_but_gets_its_owner_a_link(
    auth_gql, person: User, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    before = await _users(db)

    await auth_gql(SIGN_UP, {"email": "ann@example.com", "password": "an attacker's passphrase"})

    assert await _users(db) == before
    # The owner's password still works, the attacker's does not; the link is the owner's way back in.
    own = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    attacker = await auth_gql(LOGIN, {"email": "ann@example.com", "password": "an attacker's passphrase"})
    assert own.data["login"]["session"] is not None and attacker.data["login"]["session"] is None
    assert await _link_token("ann@example.com")


async def test_sign_ups_for_a_taken_email_send_one_link_while_it_is_valid(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        result = await auth_gql(SIGN_UP, {"email": "ann@example.com", "password": PASSWORD})
        assert result.data["signUp"] == {"session": None, "userErrors": []}

    assert len(RecordingNotifier.sent) == 1


async def test_sign_up_refuses_a_malformed_email_and_a_weak_password(auth_gql) -> None:  # type: ignore[no-untyped-def]
    weak = await auth_gql(SIGN_UP, {"email": "not an email", "password": "short"})

    assert weak.data["signUp"]["userErrors"] == [
        {"field": "email", "code": "INVALID"},
        {"field": "password", "code": "INVALID"},
    ]
    assert RecordingNotifier.sent == []


async def _reset_token(auth_gql) -> str:  # type: ignore[no-untyped-def]
    result = await auth_gql(REQUEST, {"email": "ann@example.com"})
    assert result.data["requestPasswordReset"] == {"ok": True, "userErrors": []}
    email, link = RecordingNotifier.sent[-1]
    assert email == "ann@example.com"
    return link.rsplit("/", 1)[1]


async def test_a_reset_link_sets_the_password_once_and_ends_sessions(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    old_session = (await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})).data["login"][
        "session"
    ]
    token = await _reset_token(auth_gql)

    reset = await auth_gql(RESET, {"token": token, "password": NEW_PASSWORD})
    again = await auth_gql(RESET, {"token": token, "password": "yet another passphrase"})

    assert reset.data["resetPassword"] == {"ok": True, "userErrors": []}
    assert again.data["resetPassword"]["userErrors"][0]["field"] == "token"
    old = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    new = await auth_gql(LOGIN, {"email": "ann@example.com", "password": NEW_PASSWORD})
    assert old.data["login"]["session"] is None and new.data["login"]["session"] is not None
    refreshed = await auth_gql(REFRESH, {"token": old_session["refreshToken"]})
    assert refreshed.data["refreshToken"]["session"] is None


async def test_an_expired_or_superseded_link_is_refused(auth_gql, person: User, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    first = await _reset_token(auth_gql)
    second = await _reset_token(auth_gql)
    await db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.used_at.is_(None))
        .values(
            created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            expires_at=dt.datetime(2000, 1, 2, tzinfo=dt.UTC),
        )
    )

    for token in (first, second):
        result = await auth_gql(RESET, {"token": token, "password": NEW_PASSWORD})
        assert result.data["resetPassword"]["ok"] is False


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    result = await auth_gql(REQUEST, {"email": "nobody@example.com"})

    assert result.data["requestPasswordReset"] == {"ok": True, "userErrors": []}
    assert RecordingNotifier.sent == []


async def test_a_weak_new_password_is_refused_and_the_link_still_works(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    token = await _reset_token(auth_gql)

    weak = await auth_gql(RESET, {"token": token, "password": "short"})
    strong = await auth_gql(RESET, {"token": token, "password": NEW_PASSWORD})

    assert weak.data["resetPassword"]["userErrors"][0]["field"] == "newPassword"
    assert strong.data["resetPassword"]["ok"] is True


async def test_the_log_notifier_logs_the_link_in_development_only(
    settings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    link = RESET_LINK.format(token="secret-token")
    with caplog.at_level(logging.WARNING, logger="core.notifier"):
        await LogNotifier(settings).send_password_reset(email="ann@example.com", link=link)
        await LogNotifier(settings.model_copy(update={"app_env": AppEnv.PRODUCTION})).send_password_reset(
            email="ann@example.com", link=link
        )

    development, production = caplog.records
    assert link in development.getMessage() and "ann@example.com" not in caplog.text
    assert "secret-token" not in production.getMessage()
    assert masked_email("ann@example.com") == "a***@example.com"
