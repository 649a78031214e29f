"""An admin's password reset of a user: the account gets a reset link (sent by a job), its password
stops working and its sessions end, in one transaction (what a support desk does for a compromised
account)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.auth.reset_links import defer_reset_link, void_reset_tokens
from resolvers.auth.sessions import revoke_user_sessions
from resolvers.outcomes import Outcome, ProblemCode

REVOKED_REASON = "admin_password_reset"


@dataclass(frozen=True, slots=True)
class AdminReset:
    """What was done (`revoked_sessions` is None in a replay)."""

    user_id: int
    revoked_sessions: int | None


async def admin_reset_password(
    *, session: AsyncSession, actor: Actor, user_id: int, now: dt.datetime
) -> Outcome[AdminReset]:
    """Issue the user a reset link, clear their password and revoke every session; audited."""
    # Locked: a concurrent resetPassword through an older link waits, then finds its token voided.
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None or user.email is None:
        return Outcome.one_problem("user_id", "No such user.", ProblemCode.NOT_FOUND)
    # The older links stop working now; the new one is minted and sent by a job once this commits.
    await void_reset_tokens(session, user_id=user.id, now=now)
    await defer_reset_link(session, user_id=user.id, now=now)
    # Whoever made the admin act may know the password: it stops working until the link sets a new
    # one (login treats an account without a password like a wrong password).
    user.password_hash = None
    revoked = await revoke_user_sessions(session, user_id=user.id, reason=REVOKED_REASON, now=now)
    await record_change(
        session,
        actor=actor,
        action="user.admin_reset_password",
        entity_type="user",
        entity_id=user.id,
        after={"revoked_sessions": revoked},
    )
    return Outcome(value=AdminReset(user.id, revoked), ref=("User", user.id))
