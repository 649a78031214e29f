"""signUp (per IP) and requestPasswordReset (per target email and per IP) are throttled in Redis,
so reset mails cannot flood an inbox; with Redis down they go on (fail-open)."""

from __future__ import annotations

import redis.asyncio as aioredis

from models.users import User
from resolvers.auth.throttles import RESET_PER_EMAIL, RESET_PER_IP, SIGN_UP_PER_IP
from tests.auth.support import RecordingNotifier
from tests.auth.test_signup_reset import REQUEST, SIGN_UP


def _code(result) -> str | None:  # type: ignore[no-untyped-def]
    return None if result.errors is None else result.errors[0].extensions["code"]


async def test_reset_requests_for_one_email_are_limited_from_any_ip(auth_gql, person: User, settings) -> None:  # type: ignore[no-untyped-def]
    for n in range(RESET_PER_EMAIL):
        ok = await auth_gql(REQUEST, {"email": "ann@example.com"}, client_ip=f"10.3.0.{n}")
        assert ok.data["requestPasswordReset"]["ok"] is True

    blocked = await auth_gql(REQUEST, {"email": " ANN@example.com"}, client_ip="10.3.1.1")
    other = await auth_gql(REQUEST, {"email": "bob@example.com"}, client_ip="10.3.1.1")

    assert blocked.data["requestPasswordReset"] is None
    assert _code(blocked) == "RATE_LIMITED"
    assert 0 < blocked.errors[0].extensions["retryAfter"] <= settings.login_failure_window_s
    assert len(RecordingNotifier.sent) == RESET_PER_EMAIL
    assert other.errors is None


async def test_an_unknown_email_is_limited_like_a_known_one(auth_gql) -> None:  # type: ignore[no-untyped-def]
    for n in range(RESET_PER_EMAIL):
        await auth_gql(REQUEST, {"email": "nobody@example.com"}, client_ip=f"10.4.0.{n}")

    blocked = await auth_gql(REQUEST, {"email": "nobody@example.com"}, client_ip="10.4.1.1")

    assert _code(blocked) == "RATE_LIMITED"


async def test_reset_requests_from_one_ip_are_limited_across_emails(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    for n in range(RESET_PER_IP):
        ok = await auth_gql(REQUEST, {"email": f"guess{n}@example.com"}, client_ip="10.5.0.1")
        assert ok.errors is None

    blocked = await auth_gql(REQUEST, {"email": "ann@example.com"}, client_ip="10.5.0.1")
    elsewhere = await auth_gql(REQUEST, {"email": "ann@example.com"}, client_ip="10.5.0.2")

    assert _code(blocked) == "RATE_LIMITED"
    assert elsewhere.errors is None
    assert [email for email, _ in RecordingNotifier.sent] == ["ann@example.com"]


async def test_sign_ups_from_one_ip_are_limited(auth_gql, settings) -> None:  # type: ignore[no-untyped-def]
    password = "a long enough passphrase"
    for n in range(SIGN_UP_PER_IP):
        made = await auth_gql(
            SIGN_UP, {"email": f"new{n}@example.com", "password": password}, client_ip="10.6.0.1"
        )
        assert made.errors is None

    blocked = await auth_gql(
        SIGN_UP, {"email": "late@example.com", "password": password}, client_ip="10.6.0.1"
    )
    elsewhere = await auth_gql(
        SIGN_UP, {"email": "late@example.com", "password": password}, client_ip="10.6.0.2"
    )

    assert blocked.data["signUp"] is None
    assert _code(blocked) == "RATE_LIMITED"
    assert 0 < blocked.errors[0].extensions["retryAfter"] <= settings.login_failure_window_s
    assert elsewhere.data["signUp"] == {"session": None, "userErrors": []}


async def test_sign_up_and_reset_go_on_when_redis_is_down(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    down = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        for _ in range(RESET_PER_EMAIL + 1):
            reset = await auth_gql(REQUEST, {"email": "ann@example.com"}, redis=down)
            assert reset.errors is None
        made = await auth_gql(
            SIGN_UP, {"email": "down@example.com", "password": "a long enough passphrase"}, redis=down
        )
    finally:
        await down.aclose()

    assert made.errors is None and made.data["signUp"] == {"session": None, "userErrors": []}
