"""adminResetPassword: an admin resets a user's password. The account gets a working reset link,
its old password and refresh tokens stop working, the reset is audited, and only admins may do it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.auth import RefreshTokenFamily
from models.users import User
from tests.auth.support import PASSWORD, RecordingNotifier
from tests.auth.test_login import LOGIN
from tests.auth.test_refresh import REFRESH
from tests.auth.test_signup_reset import NEW_PASSWORD, RESET
from tests.merchants.support import gid, others
from tests.models import factories as f

ADMIN_RESET = """
mutation($id: ID!, $key: String) {
  adminResetPassword(input: {userId: $id, idempotencyKey: $key}) {
    ok revokedSessions userErrors { field code }
  }
}
"""


async def _admin(db: AsyncSession) -> Viewer:
    admin = await f.make_user(db, role="admin")
    return Viewer(role=Role.ADMIN, user_id=admin.id)


async def _refresh_token(auth_gql) -> str:  # type: ignore[no-untyped-def]
    login = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    return str(login.data["login"]["session"]["refreshToken"])


async def test_the_user_gets_a_link_and_loses_sessions_and_password(  # type: ignore[no-untyped-def]
    auth_gql, db: AsyncSession, person: User
) -> None:
    refresh = await _refresh_token(auth_gql)
    admin = await _admin(db)

    result = await auth_gql(ADMIN_RESET, {"id": gid("User", person.id)}, viewer=admin)

    assert result.errors is None, result.errors
    assert result.data["adminResetPassword"] == {"ok": True, "revokedSessions": 1, "userErrors": []}
    address, link = RecordingNotifier.sent[-1]
    assert address == "ann@example.com"
    refused = await auth_gql(REFRESH, {"token": refresh})
    assert refused.data["refreshToken"]["session"] is None
    assert refused.data["refreshToken"]["userErrors"][0]["code"] == "INVALID"
    old_password = await auth_gql(LOGIN, {"email": "ann@example.com", "password": PASSWORD})
    assert old_password.data["login"]["session"] is None
    family = await db.scalar(select(RefreshTokenFamily).where(RefreshTokenFamily.user_id == person.id))
    assert family is not None and family.revoked_reason == "admin_password_reset"
    audit = await db.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "user.admin_reset_password"))
    assert audit is not None
    assert (audit.entity_id, audit.actor_user_id, audit.after) == (
        person.id,
        admin.user_id,
        {"revoked_sessions": 1},
    )

    # The link sets a new password, which signs in.
    token = link.rsplit("/", 1)[1]
    reset = await auth_gql(RESET, {"token": token, "password": NEW_PASSWORD})
    login = await auth_gql(LOGIN, {"email": "ann@example.com", "password": NEW_PASSWORD})
    assert reset.data["resetPassword"] == {"ok": True, "userErrors": []}
    assert login.data["login"]["session"]["role"] == "customer"


async def test_an_older_link_stops_working(auth_gql, db: AsyncSession, person: User) -> None:  # type: ignore[no-untyped-def]
    await auth_gql('mutation { requestPasswordReset(input: {email: "ann@example.com"}) { ok } }')
    older = RecordingNotifier.sent[-1][1].rsplit("/", 1)[1]

    await auth_gql(ADMIN_RESET, {"id": gid("User", person.id)}, viewer=await _admin(db))
    result = await auth_gql(RESET, {"token": older, "password": NEW_PASSWORD})

    assert result.data["resetPassword"]["userErrors"][0]["code"] == "INVALID"


async def test_a_replay_sends_no_second_link(auth_gql, db: AsyncSession, person: User) -> None:  # type: ignore[no-untyped-def]
    admin = await _admin(db)
    variables = {"id": gid("User", person.id), "key": "reset-ann-1"}

    first = await auth_gql(ADMIN_RESET, variables, viewer=admin)
    again = await auth_gql(ADMIN_RESET, variables, viewer=admin)

    assert first.data["adminResetPassword"]["ok"] is True
    assert again.data["adminResetPassword"] == {"ok": True, "revokedSessions": None, "userErrors": []}
    assert len(RecordingNotifier.sent) == 1


async def test_an_erased_or_unknown_user_is_not_found(auth_gql, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    erased = await f.make_user(db, email=None, name=None, deleted_at=f.T0)
    admin = await _admin(db)

    for user_id in (gid("User", erased.id), gid("User", 10**9), gid("Merchant", 1)):
        result = await auth_gql(ADMIN_RESET, {"id": user_id}, viewer=admin)
        assert result.data["adminResetPassword"]["ok"] is False
        assert result.data["adminResetPassword"]["userErrors"] == [{"field": "userId", "code": "NOT_FOUND"}]
    assert RecordingNotifier.sent == []


@pytest.mark.parametrize("viewer", others(Role.ADMIN), ids=lambda v: v.role.value)
async def test_only_admins_reset(auth_gql, db: AsyncSession, person: User, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    refresh = await _refresh_token(auth_gql)

    result = await auth_gql(ADMIN_RESET, {"id": gid("User", person.id)}, viewer=viewer)

    assert result.errors is not None
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert RecordingNotifier.sent == []
    still = await auth_gql(REFRESH, {"token": refresh})
    assert still.data["refreshToken"]["session"] is not None
