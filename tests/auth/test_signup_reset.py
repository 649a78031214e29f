"""signUp opens a customer account; a forgotten password is reset with a single-use, expiring link
delivered through the notifier, and the reset ends every session of the account."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select, update
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


async def test_sign_up_creates_a_customer_and_signs_in(auth_gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    result = await auth_gql(SIGN_UP, {"email": "New@Example.com", "password": PASSWORD, "name": "Neo"})

    assert result.data["signUp"]["userErrors"] == []
    assert result.data["signUp"]["session"]["role"] == "customer"
    user = await db.scalar(select(User).where(User.email == "New@Example.com"))
    assert user is not None and user.role == "customer" and user.password_hash.startswith("$argon2id$")
    login = await auth_gql(LOGIN, {"email": "new@example.com", "password": PASSWORD})
    assert login.data["login"]["session"] is not None


async def test_sign_up_refuses_a_taken_email_and_a_weak_password(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    taken = await auth_gql(SIGN_UP, {"email": "ANN@example.com", "password": PASSWORD})
    weak = await auth_gql(SIGN_UP, {"email": "not an email", "password": "short"})

    assert taken.data["signUp"] == {"session": None, "userErrors": [{"field": "email", "code": "TAKEN"}]}
    assert weak.data["signUp"]["userErrors"] == [
        {"field": "email", "code": "INVALID"},
        {"field": "password", "code": "INVALID"},
    ]


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
