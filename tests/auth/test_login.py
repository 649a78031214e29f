"""login: tokens for the right password, one answer for every failure, throttling per account and IP."""

from __future__ import annotations

import datetime as dt

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import seed
from core.tokens import signing_secret, viewer_from_token
from core.viewer import Role, Viewer
from models.auth import RefreshToken, RefreshTokenFamily
from models.users import User
from tests.auth.support import PASSWORD, PASSWORD_HASH
from tests.models import factories as f

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt role }
    userErrors { field message code }
  }
}
"""


async def test_the_right_password_opens_a_session(auth_gql, person: User, db: AsyncSession, settings) -> None:  # type: ignore[no-untyped-def]
    result = await auth_gql(LOGIN, {"email": "ANN@example.com", "password": PASSWORD})

    assert result.errors is None
    payload = result.data["login"]
    assert payload["userErrors"] == []
    session = payload["session"]
    assert viewer_from_token(session["accessToken"], secret=signing_secret(settings)) == Viewer(
        role=Role.CUSTOMER, user_id=person.id
    )
    lifetime = dt.datetime.fromisoformat(session["accessTokenExpiresAt"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < lifetime <= dt.timedelta(minutes=15)
    family = await db.scalar(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == person.id))
    assert family is not None and str(family.ip_address) == "127.0.0.1"
    token = await db.scalar(select(RefreshToken).where(RefreshToken.family_id == family.id))
    assert token is not None and session["refreshToken"] not in token.token_hash
    assert person.last_login_at is not None


async def test_merchant_staff_get_a_token_for_their_merchant(auth_gql, db: AsyncSession, settings) -> None:  # type: ignore[no-untyped-def]
    merchant = await f.make_merchant(db)
    staff = await f.make_user(
        db, email="till@example.com", role="merchant", merchant_id=merchant.id, password_hash=PASSWORD_HASH
    )

    result = await auth_gql(LOGIN, {"email": "till@example.com", "password": PASSWORD})

    token = result.data["login"]["session"]["accessToken"]
    assert viewer_from_token(token, secret=signing_secret(settings)) == Viewer(
        role=Role.MERCHANT, user_id=staff.id, merchant_id=merchant.id
    )


async def test_unknown_email_wrong_password_and_erased_account_get_one_answer(
    auth_gql, person: User, db: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    await f.make_user(
        db, email=None, deleted_at=dt.datetime.now(dt.UTC), password_hash=PASSWORD_HASH, name=None
    )
    erased = await f.make_user(db, email="gone@example.com", password_hash=PASSWORD_HASH)
    erased.deleted_at = dt.datetime.now(dt.UTC)
    await db.flush()

    answers = [
        (await auth_gql(LOGIN, {"email": email, "password": password}, client_ip=f"10.0.0.{n}")).data["login"]
        for n, (email, password) in enumerate(
            [
                ("ann@example.com", "wrong password"),
                ("nobody@example.com", PASSWORD),
                ("gone@example.com", PASSWORD),
            ]
        )
    ]

    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == {
        "session": None,
        "userErrors": [{"field": None, "message": "Wrong email or password.", "code": "INVALID"}],
    }


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    auth_gql, person: User, settings
) -> None:  # type: ignore[no-untyped-def]
    for n in range(settings.login_max_failures):
        await auth_gql(LOGIN, {"email": "ann@example.com", "password": "nope"}, client_ip=f"10.1.0.{n}")

    result = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD}, client_ip="10.1.1.1")

    assert result.data["login"] is None
    [error] = result.errors
    assert error.extensions["code"] == "RATE_LIMITED"
    assert 0 < error.extensions["retryAfter"] <= settings.login_failure_window_s
    other = await auth_gql(LOGIN, {"email": "bob@example.com", "password": "nope"}, client_ip="10.1.1.1")
    assert other.errors is None


async def test_repeated_failures_from_one_ip_are_throttled_across_accounts(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    for n in range(4):
        await auth_gql(
            LOGIN,
            {"email": f"guess{n}@example.com", "password": "x"},
            client_ip="10.2.0.1",
            login_max_failures=1,
        )

    blocked = await auth_gql(
        LOGIN, {"email": "ann@example.com", "password": PASSWORD}, client_ip="10.2.0.1", login_max_failures=1
    )
    elsewhere = await auth_gql(
        LOGIN, {"email": "ann@example.com", "password": PASSWORD}, client_ip="10.2.0.2", login_max_failures=1
    )

    assert blocked.errors is None  # 4 failures < 1 x IP_FACTOR (5)
    await auth_gql(
        LOGIN, {"email": "guess9@example.com", "password": "x"}, client_ip="10.2.0.1", login_max_failures=1
    )
    blocked = await auth_gql(
        LOGIN, {"email": "ann@example.com", "password": PASSWORD}, client_ip="10.2.0.1", login_max_failures=1
    )
    assert blocked.errors is not None and blocked.errors[0].extensions["code"] == "RATE_LIMITED"
    assert elsewhere.errors is None and elsewhere.data["login"]["session"] is not None


async def test_a_success_clears_the_account_failures(auth_gql, person: User, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.login_max_failures - 1):
        await auth_gql(LOGIN, {"email": "ann@example.com", "password": "nope"})
    await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    for _ in range(settings.login_max_failures - 1):
        await auth_gql(LOGIN, {"email": "ann@example.com", "password": "nope"})

    result = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})

    assert result.errors is None and result.data["login"]["session"] is not None


async def test_logins_go_on_when_redis_is_down(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    down = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        failed = await auth_gql(LOGIN, {"email": "ann@example.com", "password": "nope"}, redis=down)
        result = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD}, redis=down)
    finally:
        await down.aclose()

    assert failed.errors is None and failed.data["login"]["session"] is None
    assert result.errors is None and result.data["login"]["session"] is not None


async def test_the_idempotency_header_is_refused_so_tokens_are_never_stored(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    result = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD}, idempotency_key="k1")

    assert result.errors is not None and result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_seeded_users_log_in_with_the_demo_password(auth_gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    await f.make_user(db, email="demo@example.com", role="analyst", password_hash=seed.demo_password_hash())

    result = await auth_gql(LOGIN, {"email": "demo@example.com", "password": seed.DEMO_PASSWORD})

    assert result.data["login"]["session"]["role"] == "analyst"
