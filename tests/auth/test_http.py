"""Authentication over HTTP: log in, call the API with the access token, refresh; expired, forged,
unsigned (`alg: none`), wrong-audience and refresh tokens are answered 401 UNAUTHENTICATED."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import AUDIENCE, ISSUER, mint_access_token, signing_secret
from core.viewer import Role
from models.users import User
from server import create_app
from tests.auth.support import PASSWORD, PASSWORD_HASH
from tests.transport.client import serving

LOGIN = (
    "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) "
    "{ session { accessToken refreshToken } userErrors { code } } }"
)
REFRESH = (
    "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) "
    "{ session { accessToken refreshToken } userErrors { code } } }"
)
ME = "{ me { email } }"


@pytest.fixture
async def client(settings: Settings, scratch_db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    app_settings = settings.model_copy(update={"database_url": scratch_db_url})
    engine = create_engine(scratch_db_url, app_settings, pool_size=2)
    async with create_sessionmaker(engine)() as session, session.begin():
        session.add(User(email="ann@example.com", name="Ann", role="customer", password_hash=PASSWORD_HASH))
    await engine.dispose()
    async with serving(create_app(app_settings)) as http:
        yield http, signing_secret(app_settings)


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, str], token: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def test_login_refresh_and_call_over_http(client: tuple[httpx.AsyncClient, str]) -> None:
    http, _ = client

    login = await _post(http, LOGIN, {"e": "ann@example.com", "p": PASSWORD})
    session = login.json()["data"]["login"]["session"]
    me = await _post(http, ME, {}, session["accessToken"])
    refreshed = await _post(http, REFRESH, {"t": session["refreshToken"]})
    again = await _post(http, ME, {}, refreshed.json()["data"]["refreshToken"]["session"]["accessToken"])

    assert login.status_code == 200
    assert me.json()["data"] == {"me": {"email": "ann@example.com"}}
    assert again.json()["data"] == {"me": {"email": "ann@example.com"}}


def _claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "x",
        "typ": "access",
        "role": "admin",
        "sub": "1",
    }
    return {**claims, **changes}


@pytest.mark.parametrize("case", ["expired", "forged", "alg-none", "wrong-audience", "refresh-token"])
async def test_bad_tokens_are_refused(client: tuple[httpx.AsyncClient, str], case: str) -> None:
    http, secret = client
    header = {"typ": "at+jwt"}
    if case == "expired":
        token = mint_access_token(secret=secret, user_id=1, role=Role.ADMIN, ttl=timedelta(seconds=-5))
    elif case == "forged":
        token = jwt.encode(
            _claims(), "another-secret-of-sufficient-length-012345", algorithm="HS256", headers=header
        )
    elif case == "alg-none":
        token = jwt.encode(_claims(), None, algorithm="none", headers=header)
    elif case == "wrong-audience":
        token = jwt.encode(_claims(aud="another-api"), secret, algorithm="HS256", headers=header)
    else:
        login = await _post(http, LOGIN, {"e": "ann@example.com", "p": PASSWORD})
        token = login.json()["data"]["login"]["session"]["refreshToken"]

    response = await _post(http, ME, {}, token)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()
