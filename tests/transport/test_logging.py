"""Logs carry the request id and never a password, token, API key, full email or phone number."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.database import create_engine, create_sessionmaker
from core.logging import redact
from core.passwords import hash_password
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role
from models.users import User
from tests.transport.conftest import serve

UPDATE = """
mutation ($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) { user { email phone } userErrors { field code } }
}
"""
ME = "query ($hint: String) { __typename }"
LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    session { accessToken refreshToken }
    userErrors { code }
  }
}
"""
OLD_EMAIL, NEW_EMAIL, NEW_PHONE = "logan.before@example.com", "logan.after@example.org", "+15559876543"
PASSWORD, API_KEY = "correct horse battery", "ssk_live_0123456789abcdef"
WRONG_PASSWORD = "incorrect stapler donkey"


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ("user zelda.renamed@example.org signed in", "z***@example.org", "zelda.renamed"),
        ("GET /graphql?variables=%7B%22e%22%3A%22zelda%40example.org%22%7D", '"z***@example.org"', "zelda"),
        ("GET /graphql?variables=%7B%22password%22%3A+%22a+b%22%7D", '"password": [redacted]', "a b"),
        ("{'phone': '+1 555 987 6543'}", "'phone': '[redacted]'", "987"),
        ("call (555) 123-4567 please", "call [redacted]", "123-4567"),
        ("Authorization: Bearer abc.def", "[redacted]", "abc.def"),
        ("got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "got [redacted]", "eyJ"),
        ('{"password": "correct horse", "name": "x"}', '"password": [redacted], "name": "x"', "horse"),
        ("x-api-key=ssk_live_abc&next=1", "x-api-key=[redacted]&next=1", "ssk_live"),
        ("at 2026-11-22 05:02:03 row 1234567890 cost 12.50", "row 1234567890 cost 12.50", "[redacted]"),
    ],
)
def test_redact(line: str, kept: str, gone: str) -> None:
    masked = redact(line)

    assert kept in masked
    assert gone not in masked


async def _customer(database_url: str, settings: Settings, password_hash: str | None = None) -> int:
    engine = create_engine(database_url, settings, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(email=OLD_EMAIL, name="Logan", role="customer", password_hash=password_hash)
        session.add(user)
        await session.flush()
        user_id = user.id
    await engine.dispose()
    return user_id


async def test_a_profile_update_logs_no_personal_data_or_secrets(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    user_id = await _customer(scratch_db_url, settings)
    token = mint_access_token(
        secret=signing_secret(settings), user_id=user_id, role=Role.CUSTOMER, ttl=timedelta(minutes=5)
    )
    headers = {"authorization": f"Bearer {token}", "x-request-id": "log-test-1"}
    log_file = tmp_path / "server.log"
    env = {"APP_ENV": "production", "LOG_LEVEL": "DEBUG"}

    with serve(scratch_db_url, services["redis_url"], log_file, **env) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            # an unknown API key is refused (401) and must not reach the log either
            refused = await client.post("/graphql", json={"query": ME}, headers={"x-api-key": API_KEY})
            assert refused.status_code == 401
            variables = {"input": {"email": NEW_EMAIL, "phone": NEW_PHONE}}
            updated = await client.post(
                "/graphql", json={"query": UPDATE, "variables": variables}, headers=headers
            )
            hinted = await client.get(
                "/graphql",
                params={
                    "query": ME,
                    "variables": json.dumps({"hint": f"write to {NEW_EMAIL}", "password": PASSWORD}),
                },
                headers=headers,
            )

    assert updated.json()["data"]["updateMyProfile"]["userErrors"] == []
    assert hinted.status_code == 200
    log = log_file.read_text()
    for secret in (NEW_EMAIL, OLD_EMAIL, NEW_PHONE, "5559876543", token, API_KEY, PASSWORD, "horse"):
        assert secret not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    update_lines = [line for line in lines if line.get("request_id") == "log-test-1"]
    # The variables did reach the log, masked: the checks above are not vacuous.
    assert any("l***@example.org" in line["message"] for line in update_lines)
    assert any(line["logger"] == "uvicorn.access" for line in update_lines)


async def test_a_login_logs_no_password_email_or_tokens(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    await _customer(scratch_db_url, settings, password_hash=await hash_password(PASSWORD))
    log_file = tmp_path / "server.log"
    env = {"APP_ENV": "production", "LOG_LEVEL": "DEBUG"}

    with serve(scratch_db_url, services["redis_url"], log_file, **env) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            failed = await client.post(
                "/graphql",
                json={"query": LOGIN, "variables": {"email": OLD_EMAIL, "password": WRONG_PASSWORD}},
                headers={"x-request-id": "log-login-failed"},
            )
            signed_in = await client.post(
                "/graphql",
                json={"query": LOGIN, "variables": {"email": OLD_EMAIL, "password": PASSWORD}},
                headers={"x-request-id": "log-login-ok"},
            )

    assert failed.json()["data"]["login"] == {"session": None, "userErrors": [{"code": "INVALID"}]}
    session = signed_in.json()["data"]["login"]["session"]
    assert session is not None
    log = log_file.read_text()
    for secret in (OLD_EMAIL, "logan.before", PASSWORD, WRONG_PASSWORD, "stapler", "horse"):
        assert secret not in log
    for token in (session["accessToken"], session["refreshToken"]):
        assert token not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    # Both logins reached the log, their email masked: the checks above are not vacuous.
    for request_id in ("log-login-failed", "log-login-ok"):
        login_lines = [line for line in lines if line.get("request_id") == request_id]
        assert any("l***@example.com" in line["message"] for line in login_lines)
        assert any(line["logger"] == "uvicorn.access" for line in login_lines)
