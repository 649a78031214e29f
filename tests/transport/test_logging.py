"""Logs carry the request id and never a password, token, API key, full email or phone number."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.database import create_engine, create_sessionmaker
from core.logging import MAX_MESSAGE_CHARS, bounded, redact
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
        # GET variables: names kept, every value masked, whatever the name says
        (
            "GET /graphql?variables=%7B%22e%22%3A%22zelda%40example.org%22%7D",
            'variables={"e":"[redacted]"}',
            "zelda",
        ),
        (
            "GET /graphql?variables=%7B%22password%22%3A+%22a+b%22%7D",
            'variables={"password":[redacted]}',
            "a b",
        ),
        (
            "GET /graphql?query=q&variables=%7B%22p%22%3A%22hunter2%22%7D HTTP/1.1",
            '{"p":"[redacted]"} HTTP',
            "hunter2",
        ),
        (
            "GET /graphql?variables=%7Bbroken&operationName=A",
            "variables=[redacted]&operationName=A",
            "broken",
        ),
        # a block string, and a quoted value cut short, are masked to their end
        (
            'login(input: {email: "a@b.io", password: """hunter2 "quoted" """}) {',
            "password: [redacted]",
            "hunter2",
        ),
        ('password: """a \\""" still secret""" next', "password: [redacted] next", "still secret"),
        ('{"password": "cut short by a limit', '"password": [redacted]', "cut short"),
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


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("name x\x00y", "name x\\x00y"),
        ("forged\n2026-01-01 INFO admin signed in", "forged\\x0a2026-01-01 INFO admin signed in"),
        ("bell\x07 and del\x7f", "bell\\x07 and del\\x7f"),
    ],
)
def test_a_message_is_one_printable_line(line: str, expected: str) -> None:
    assert bounded(line) == expected


def test_a_long_message_is_cut_and_says_so() -> None:
    masked = bounded("graphql " + "N" * 900_000 + " password: 'tail'")

    assert len(masked) < MAX_MESSAGE_CHARS + 100
    assert masked.endswith("… [cut from 900025 characters]")


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

    failure = failed.json()["data"]["login"]
    assert failure == {"session": None, "userErrors": [{"code": "INVALID"}]}, failed.text
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


async def test_client_supplied_text_reaches_the_log_cut_short_and_escaped(
    scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    log_file = tmp_path / "server.log"
    # Development: readable text lines, where a raw NUL or newline would go through as it came.
    env = {"APP_ENV": "development", "LOG_LEVEL": "DEBUG"}
    document = "query A { __typename }"

    with serve(scratch_db_url, services["redis_url"], log_file, **env) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            huge = await client.post("/graphql", json={"query": document, "operationName": "N" * 900_000})
            forged = await client.get(
                "/graphql", params={"query": document, "operationName": "A\x00\nFORGED admin signed in"}
            )

    assert huge.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert forged.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    raw = log_file.read_bytes()
    assert b"\x00" not in raw
    lines = raw.decode().splitlines()
    assert not any(line.startswith("FORGED") for line in lines)
    assert max(len(line) for line in lines) < 10_000
    assert "N" * 5_000 not in raw.decode()
    # the names did reach the log, cut short and escaped: the checks above are not vacuous
    assert "NNNNNNNN" in raw.decode() and "A\\x00\\x0aFORGED" in raw.decode()


async def test_get_variables_and_block_strings_stay_out_of_the_access_log(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path
) -> None:
    log_file = tmp_path / "server.log"
    neutral, block = "neutral-name-secret", "block string secret"
    login = f'mutation {{ login(input: {{email: "x@y.io", password: """{block}"""}}) {{ __typename }} }}'

    with serve(scratch_db_url, services["redis_url"], log_file, APP_ENV="production") as base:
        async with httpx.AsyncClient(base_url=base) as client:
            hinted = await client.get(
                "/graphql",
                params={
                    "query": "query ($p: String) { __typename }",
                    "variables": json.dumps({"p": neutral}),
                },
                headers={"x-request-id": "log-neutral"},
            )
            refused = await client.get(
                "/graphql", params={"query": login}, headers={"x-request-id": "log-block"}
            )

    assert hinted.status_code == 200 and refused.status_code == 405
    log = log_file.read_text()
    assert neutral not in log and block not in log
    access = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in access if line["logger"] == "uvicorn.access"]
    # both requests reached the access log, masked: the checks above are not vacuous
    assert any(
        line.get("request_id") == "log-neutral" and '{"p":"[redacted]"}' in line["message"] for line in access
    )
    assert any(
        line.get("request_id") == "log-block" and "password: [redacted]" in line["message"] for line in access
    )


async def test_only_an_unexpected_error_carries_a_traceback_once(
    live, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    from resolvers.merchants import reads

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reads, "list_categories", broken)
    with caplog.at_level(logging.INFO, logger="swipesavvy"):
        expected = await live.execute("{ merchantCategories(first: -1) { name } }")
        unexpected = await live.execute("{ merchantCategories { name } }")

    assert expected.errors and unexpected.errors[0].extensions["code"] == "INTERNAL"
    records = [r for r in caplog.records if r.name.startswith("swipesavvy")]
    with_traceback = [r for r in records if r.exc_info]
    assert len(with_traceback) == 1 and "unexpected error" in with_traceback[0].getMessage()
    client_errors = [r for r in records if not r.exc_info]
    assert client_errors and all("\n" not in r.getMessage() for r in client_errors)
