"""refreshToken rotation (RFC 9700 §4.14.2): a new pair each time, reuse revokes the family, a retry
within the grace window gets the same pair; logout and the admins' revocation end sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.tokens import mint_access_token, signing_secret
from core.viewer import Role, Viewer
from models.auth import RefreshTokenFamily
from models.users import User
from tests.auth.support import PASSWORD
from tests.auth.test_login import LOGIN
from tests.models import factories as f

REFRESH = """
mutation($token: String!) {
  refreshToken(input: {refreshToken: $token}) {
    session { accessToken refreshToken }
    userErrors { field message code }
  }
}
"""
LOGOUT = """
mutation($token: String!) { logout(input: {refreshToken: $token}) { ok userErrors { field code } } }
"""
REVOKE = """
mutation($id: ID!) { revokeUserSessions(input: {userId: $id}) { revokedCount userErrors { code } } }
"""


async def _login(auth_gql: Any) -> dict[str, str]:
    result = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    return result.data["login"]["session"]  # type: ignore[no-any-return]


async def _refresh(auth_gql: Any, token: str, **overrides: Any) -> dict[str, Any]:
    result = await auth_gql(REFRESH, {"token": token}, **overrides)
    assert result.errors is None
    return result.data["refreshToken"]  # type: ignore[no-any-return]


def _refused(payload: dict[str, Any]) -> bool:
    return payload["session"] is None and payload["userErrors"][0]["code"] == "INVALID"


async def test_each_refresh_returns_a_new_pair(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    first = await _login(auth_gql)

    second = (await _refresh(auth_gql, first["refreshToken"]))["session"]
    third = (await _refresh(auth_gql, second["refreshToken"]))["session"]

    tokens = {first["refreshToken"], second["refreshToken"], third["refreshToken"]}
    assert len(tokens) == 3
    assert len({first["accessToken"], second["accessToken"], third["accessToken"]}) == 3


async def test_reusing_a_rotated_token_revokes_the_family(auth_gql, person: User, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    first = await _login(auth_gql)
    second = (await _refresh(auth_gql, first["refreshToken"], refresh_grace_seconds=0))["session"]

    replay = await _refresh(auth_gql, first["refreshToken"], refresh_grace_seconds=0)
    after = await _refresh(auth_gql, second["refreshToken"], refresh_grace_seconds=0)

    assert replay["userErrors"][0]["message"] == "The refresh token was already used; sign in again."
    assert _refused(after)
    family = await db.scalar(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == person.id))
    assert family is not None and family.revoked_reason == "reuse"


async def test_a_retry_within_the_grace_window_gets_the_same_refresh_token(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    first = await _login(auth_gql)
    lost = (await _refresh(auth_gql, first["refreshToken"]))["session"]

    retry = (await _refresh(auth_gql, first["refreshToken"]))["session"]
    onwards = (await _refresh(auth_gql, retry["refreshToken"]))["session"]

    assert retry["refreshToken"] == lost["refreshToken"]
    assert retry["accessToken"]
    assert onwards is not None


async def test_a_retry_after_the_successor_was_used_is_reuse(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    first = await _login(auth_gql)
    second = (await _refresh(auth_gql, first["refreshToken"]))["session"]
    third = (await _refresh(auth_gql, second["refreshToken"]))["session"]

    replay = await _refresh(auth_gql, first["refreshToken"])

    assert _refused(replay)
    assert _refused(await _refresh(auth_gql, third["refreshToken"]))


async def test_unknown_expired_and_access_tokens_are_not_refresh_tokens(
    auth_gql, person: User, db: AsyncSession, settings
) -> None:  # type: ignore[no-untyped-def]
    session = await _login(auth_gql)
    family = await db.scalar(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == person.id))
    assert family is not None

    assert _refused(await _refresh(auth_gql, "not-a-token"))
    assert _refused(await _refresh(auth_gql, session["accessToken"]))
    other = mint_access_token(
        secret=signing_secret(settings), user_id=person.id, role=Role.CUSTOMER, ttl=dt.timedelta(minutes=1)
    )
    assert _refused(await _refresh(auth_gql, other))
    expired = await _login(auth_gql)
    await db.execute(
        RefreshTokenFamily.__table__.update()  # type: ignore[attr-defined]
        .where(RefreshTokenFamily.user_id == person.id, RefreshTokenFamily.id != family.id)
        .values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )
    from models.auth import RefreshToken

    await db.execute(
        RefreshToken.__table__.update()  # type: ignore[attr-defined]
        .where(RefreshToken.family_id != family.id)
        .values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )
    assert _refused(await _refresh(auth_gql, expired["refreshToken"]))


async def test_an_erased_user_cannot_refresh(auth_gql, person: User, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    session = await _login(auth_gql)
    person.deleted_at = dt.datetime.now(dt.UTC)
    await db.flush()

    assert _refused(await _refresh(auth_gql, session["refreshToken"]))
    family = await db.scalar(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == person.id))
    assert family is not None and family.revoked_reason == "user_erased"


async def test_logout_revokes_the_family(auth_gql, person: User) -> None:  # type: ignore[no-untyped-def]
    session = await _login(auth_gql)
    me = Viewer(role=Role.CUSTOMER, user_id=person.id)

    result = await auth_gql(LOGOUT, {"token": session["refreshToken"]}, viewer=me)

    assert result.data["logout"] == {"ok": True, "userErrors": []}
    assert _refused(await _refresh(auth_gql, session["refreshToken"]))


async def test_logout_needs_a_user_and_their_own_token(auth_gql, person: User, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    session = await _login(auth_gql)
    stranger = await f.make_user(db)

    anonymous = await auth_gql(LOGOUT, {"token": session["refreshToken"]})
    theirs = await auth_gql(
        LOGOUT, {"token": session["refreshToken"]}, viewer=Viewer(role=Role.CUSTOMER, user_id=stranger.id)
    )

    assert anonymous.errors is not None and anonymous.errors[0].extensions["code"] == "FORBIDDEN"
    assert theirs.data["logout"] == {
        "ok": False,
        "userErrors": [{"field": "refreshToken", "code": "NOT_FOUND"}],
    }
    assert (await _refresh(auth_gql, session["refreshToken"]))["session"] is not None


async def test_admins_revoke_every_session_of_a_user(auth_gql, person: User, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    admin = Viewer(role=Role.ADMIN, user_id=(await f.make_user(db, role="admin")).id)
    phone, tablet = await _login(auth_gql), await _login(auth_gql)
    user_id = str(relay.GlobalID("User", str(person.id)))

    marketer = await auth_gql(REVOKE, {"id": user_id}, viewer=Viewer(role=Role.MARKETER, user_id=2))
    result = await auth_gql(REVOKE, {"id": user_id}, viewer=admin)

    assert marketer.errors is not None and marketer.errors[0].extensions["code"] == "FORBIDDEN"
    assert result.data["revokeUserSessions"] == {"revokedCount": 2, "userErrors": []}
    assert _refused(await _refresh(auth_gql, phone["refreshToken"]))
    assert _refused(await _refresh(auth_gql, tablet["refreshToken"]))
    missing = await auth_gql(REVOKE, {"id": str(relay.GlobalID("User", "999999999"))}, viewer=admin)
    assert missing.data["revokeUserSessions"] == {"revokedCount": None, "userErrors": [{"code": "NOT_FOUND"}]}
