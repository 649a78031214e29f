"""Analysts are read-only everywhere: every mutation of the schema, called as an analyst (in process) and
with a real analyst API key (over HTTP), is refused with FORBIDDEN and writes nothing.

The only mutations an analyst reaches are the ones anyone may call without signing in (login, sign-up,
refresh, password reset: an analyst's token adds nothing to them) and, for an analyst who is a person,
the two about their own account (their profile, signing out); an API key has no account, so those two
refuse it too. Every call gets the generated harmless input (tests/schema/calls.py), and the content of
every table is compared before and after.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.tokens import mint_access_token, signing_secret
from core.viewer import Role, Viewer
from models.base import Base
from models.users import User
from server import create_app
from tests.models import factories as f
from tests.schema.calls import call, policy_roles, root_fields
from tests.transport.client import serving

# Open to anonymous callers: an analyst's credentials change nothing about them.
OPEN_TO_ANYONE = {"login", "signUp", "refreshToken", "requestPasswordReset", "resetPassword"}
# About the caller's own account; a person may, an API key (no account) may not.
OWN_ACCOUNT = {
    "updateMyProfile",
    "logout",
    # the caller's own notification centre, devices and settings
    "registerDevice",
    "unregisterDevice",
    "markNotificationsRead",
    "archiveNotifications",
    "openNotification",
    "updateNotificationSettings",
}
# Bookkeeping of the request itself, not data: when a key was last used.
IGNORED_COLUMNS = ("last_used_at",)

CREATE_KEY = 'mutation { createApiKey(input: {name: "reports", role: ANALYST}) { key userErrors { code } } }'


def _snapshot_sql() -> str:
    """One statement: a digest of every table's rows."""
    ignored = " - ".join(f"'{c}'" for c in IGNORED_COLUMNS)
    parts = [
        f"SELECT '{t.name}' AS name, md5(coalesce(string_agg((to_jsonb(r) - {ignored})::text, '|'"
        f" ORDER BY (to_jsonb(r) - {ignored})::text), '')) AS digest FROM {t.name} r"
        for t in Base.metadata.sorted_tables
    ]
    return " UNION ALL ".join(parts)


SNAPSHOT = text(_snapshot_sql())


async def _snapshot(conn: AsyncSession | AsyncConnection) -> dict[str, str]:
    return {name: digest for name, digest in (await conn.execute(SNAPSHOT)).all()}


def _refusal_codes(body: dict[str, Any], name: str) -> set[str]:
    """FORBIDDEN as an error, or as the payload's userError (logout answers an API key that way)."""
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    payload = (body.get("data") or {}).get(name) or {}
    codes |= {e.get("code") for e in payload.get("userErrors") or []} if isinstance(payload, dict) else set()
    return codes


def test_the_open_mutations_are_the_ones_named_here() -> None:
    # A mutation newly opened to anonymous callers is a decision this test makes visible.
    opened = {n for n, field in root_fields("mutation").items() if Role.ANONYMOUS in policy_roles(field)}
    assert opened == OPEN_TO_ANYONE
    assert not any(
        Role.ANALYST in policy_roles(root_fields("mutation")[n])
        for n in set(root_fields("mutation")) - opened - OWN_ACCOUNT
    )


@pytest.mark.parametrize("name", sorted(root_fields("mutation")))
async def test_an_analyst_is_refused_every_mutation_and_writes_nothing(
    db: AsyncSession, gql: Any, name: str
) -> None:
    analyst = await f.make_user(db, role="analyst")
    viewer = Viewer(role=Role.ANALYST, user_id=analyst.id)
    before = await _snapshot(db)

    result = await gql(call("mutation", name, root_fields("mutation")[name]), viewer=viewer)

    codes = {e.extensions.get("code") for e in result.errors or []}
    assert "INTERNAL" not in codes, result.errors
    if name not in OPEN_TO_ANYONE | OWN_ACCOUNT:
        assert "FORBIDDEN" in codes, f"an analyst reached {name}"
    assert await _snapshot(db) == before, f"{name} wrote as an analyst"


async def test_an_analyst_api_key_is_refused_every_mutation_and_writes_nothing(
    settings: Settings, scratch_db_url: str
) -> None:
    app_settings = settings.model_copy(update={"database_url": scratch_db_url})
    engine = create_engine(scratch_db_url, app_settings, pool_size=2)
    async with create_sessionmaker(engine)() as session, session.begin():
        admin = User(email="root@example.com", name="Root", role="admin")
        session.add(admin)
        await session.flush()
        admin_id = admin.id
    token = mint_access_token(
        secret=signing_secret(app_settings), user_id=admin_id, role=Role.ADMIN, ttl=dt.timedelta(minutes=5)
    )
    refused: dict[str, set[str]] = {}
    wrote: list[str] = []
    async with serving(create_app(app_settings)) as client:
        created = await client.post(
            "/graphql", json={"query": CREATE_KEY}, headers={"authorization": f"Bearer {token}"}
        )
        as_key = {"x-api-key": created.json()["data"]["createApiKey"]["key"]}
        # The key's first use records last_used_at; that column is left out of the comparison anyway.
        await client.post("/graphql", json={"query": "{ __typename }"}, headers=as_key)
        for name, field in sorted(root_fields("mutation").items()):
            async with engine.connect() as conn:
                before = await _snapshot(conn)
            response = await client.post(
                "/graphql", json={"query": call("mutation", name, field)}, headers=as_key
            )
            async with engine.connect() as conn:
                if await _snapshot(conn) != before:
                    wrote.append(name)
            assert response.status_code < 500, (name, response.text)
            refused[name] = _refusal_codes(response.json(), name)
    await engine.dispose()

    assert wrote == []
    assert [n for n, codes in refused.items() if "INTERNAL" in codes] == []
    reached = [n for n, codes in refused.items() if n not in OPEN_TO_ANYONE and "FORBIDDEN" not in codes]
    assert reached == []
