"""GDPR erasure ("right to be forgotten") of one person, in one transaction.

What goes, and why what stays may stay:

- users: email, name, phone and password hash are nulled and deleted_at is set; the row stays (its
  id anchors financial history) but no longer identifies anyone. `search` is generated from name
  and email, so it empties itself.
- accounts: unlinked; the institution becomes "erased". The last four digits stay: with no name,
  email or institution they identify no one, and disputes on retained transactions quote them.
- transactions and the rewards ledger stay untouched: financial records, anonymised by the user row,
  so sums and aggregates do not change. (Ledger descriptions are written by the server, never
  copied from personal data.)
- refresh-token families are revoked and lose their user agent and IP address; access tokens are
  refused from the moment the erasure commits (resolvers/auth/revocations.py: recorded in Redis by
  the mutation, read from `deleted_at` while Redis is down).
- audit_log: in rows about the person (the user, their accounts) the email, phone, name and
  institution keys are removed from before/after; IP addresses of the person's own actions are
  nulled; and any other row whose JSON still quotes one of the person's emails or phones (current or
  former, as the audit rows recorded them) has it replaced by "[erased]".
- idempotency_keys: stored responses of the person's scope, and any other stored response quoting one
  of their emails or phones, are nulled (result_ref stays: it names rows, not people).
- user_merchant_affinity and user_optimal_send_times (profiling) are deleted; device_info of the
  person's flag-usage events is nulled.
- notifications (resolvers/notifications/erasure.py): devices, preferences, quiet hours, segment
  memberships and the time zone are deleted; notifications and deliveries stay anonymised, their
  text and provider ids blanked.

The erasure's own audit row holds counts only, and no IP address.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from loaders.users import UserByIdLoader
from models.admin import AuditLogEntry, IdempotencyKey
from models.auth import RefreshTokenFamily
from models.flags import FlagUsage
from models.ml import UserMerchantAffinity, UserOptimalSendTime
from models.users import Account, AccountStatus, User
from resolvers.audit import Actor, record_change
from resolvers.notifications import erasure as notifications
from resolvers.outcomes import Outcome, ProblemCode

PERSON_KEYS = ("email", "phone", "name")
ACCOUNT_KEYS = ("institution",)
TRACE_KEYS = ("email", "phone")
ERASED = "erased"
REDACTED = "[erased]"
REVOKED_REASON = "account_erased"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did (counts only: this goes into the audit row)."""

    user_id: int
    erased_at: dt.datetime
    accounts_unlinked: int = 0
    token_families_revoked: int = 0
    audit_rows_scrubbed: int = 0
    idempotency_responses_cleared: int = 0
    profiling_rows_deleted: int = 0
    notification_rows_erased: int = 0


def _about(user_id: int, account_ids: list[int]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    person = and_(AuditLogEntry.entity_type == "user", AuditLogEntry.entity_id == user_id)
    accounts = and_(AuditLogEntry.entity_type == "account", AuditLogEntry.entity_id.in_(account_ids))
    return person, accounts


async def _traces(session: AsyncSession, user: User, about: ColumnElement[bool]) -> set[str]:
    """Every email and phone the person had, as the user row and the audit log know them."""
    found = {value for value in (user.email, user.phone) if value}
    for column in (AuditLogEntry.before, AuditLogEntry.after):
        for key in TRACE_KEYS:
            rows = await session.scalars(
                select(column[key].astext).where(about, column[key].astext.is_not(None)).distinct()
            )
            found.update(value for value in rows if value)
    return found


def _without(column: Any, keys: tuple[str, ...]) -> Any:
    """The JSON object minus `keys` (a JSON null, array or scalar is kept as it is)."""
    stripped = column.op("-")(cast(literal(list(keys), ARRAY(Text)), ARRAY(Text)))
    return case((func.jsonb_typeof(column) == "object", stripped), else_=column)


def _quotes(column: Any, traces: set[str]) -> ColumnElement[bool]:
    text = func.lower(cast(column, Text))
    return or_(*(func.strpos(text, trace.lower()) > 0 for trace in traces))


def _redacted(column: Any, traces: set[str]) -> Any:
    value = cast(column, Text)
    for trace in sorted(traces, key=len, reverse=True):
        # re.escape only escapes non-alphanumerics, which a PostgreSQL ARE reads as literals too.
        value = func.regexp_replace(value, re.escape(trace), REDACTED, "gi")
    return cast(value, JSONB)


async def _scrub_audit(session: AsyncSession, user: User, account_ids: list[int]) -> tuple[int, set[str]]:
    person, accounts = _about(user.id, account_ids)
    traces = await _traces(session, user, or_(person, accounts))
    scrubbed: set[int] = set()
    for about, keys in ((person, PERSON_KEYS), (accounts, ACCOUNT_KEYS)):
        result = await session.execute(
            update(AuditLogEntry)
            .where(about)
            .values(
                before=_without(AuditLogEntry.before, keys),
                after=_without(AuditLogEntry.after, keys),
            )
            .returning(AuditLogEntry.id)
        )
        scrubbed.update(result.scalars())
    result = await session.execute(
        update(AuditLogEntry)
        .where(AuditLogEntry.actor_user_id == user.id, AuditLogEntry.ip_address.is_not(None))
        .values(ip_address=None)
        .returning(AuditLogEntry.id)
    )
    scrubbed.update(result.scalars())
    if traces:
        quoting = or_(_quotes(AuditLogEntry.before, traces), _quotes(AuditLogEntry.after, traces))
        result = await session.execute(
            update(AuditLogEntry)
            .where(quoting)
            .values(
                before=_redacted(AuditLogEntry.before, traces), after=_redacted(AuditLogEntry.after, traces)
            )
            .returning(AuditLogEntry.id)
        )
        scrubbed.update(result.scalars())
    return len(scrubbed), traces


async def _clear_responses(session: AsyncSession, user_id: int, traces: set[str]) -> int:
    mine = IdempotencyKey.scope == f"user:{user_id}"
    condition = or_(mine, _quotes(IdempotencyKey.response, traces)) if traces else mine
    result = await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.response.is_not(None), condition)
        .values(response=None)
        .returning(IdempotencyKey.id)
    )
    return len(result.all())


async def _forget_profiling(session: AsyncSession, user_id: int) -> int:
    deleted = 0
    for model in (UserMerchantAffinity, UserOptimalSendTime):
        result = await session.execute(delete(model).where(model.user_id == user_id).returning(model.id))
        deleted += len(result.all())
    await session.execute(
        update(FlagUsage)
        .where(FlagUsage.user_id == user_id, FlagUsage.device_info.is_not(None))
        .values(device_info=None)
    )
    return deleted


async def erase_user(
    *, session: AsyncSession, actor: Actor, user_id: int, now: dt.datetime
) -> Outcome[Erasure]:
    """Erase the person's personal data everywhere, keeping anonymised financial history."""
    # FOR UPDATE: links, recordings and profile edits of this user wait for the erasure, then see it.
    user = await session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        return Outcome.one_problem(None, "No such user.", ProblemCode.NOT_FOUND)
    if user.deleted_at is not None:
        # Already erased (a retry): nothing is left to erase.
        return Outcome(value=Erasure(user_id=user_id, erased_at=user.deleted_at), ref=("User", user_id))
    account_ids = list(await session.scalars(select(Account.id).where(Account.user_id == user_id)))
    audit_rows, traces = await _scrub_audit(session, user, account_ids)
    user.email = user.name = user.phone = user.password_hash = user.time_zone = None
    user.deleted_at = now
    await session.flush()
    unlinked = await session.execute(
        update(Account)
        .where(Account.user_id == user_id)
        .values(status=AccountStatus.UNLINKED.value, institution=ERASED)
        .returning(Account.id)
    )
    revoked = await session.execute(
        update(RefreshTokenFamily)
        .where(RefreshTokenFamily.user_id == user_id)
        .values(
            revoked_at=func.coalesce(RefreshTokenFamily.revoked_at, now),
            revoked_reason=func.coalesce(RefreshTokenFamily.revoked_reason, REVOKED_REASON),
            user_agent=None,
            ip_address=None,
        )
        .returning(RefreshTokenFamily.id)
    )
    erasure = Erasure(
        user_id=user_id,
        erased_at=now,
        accounts_unlinked=len(unlinked.all()),
        token_families_revoked=len(revoked.all()),
        audit_rows_scrubbed=audit_rows,
        idempotency_responses_cleared=await _clear_responses(session, user_id, traces),
        profiling_rows_deleted=await _forget_profiling(session, user_id),
        notification_rows_erased=await notifications.forget_person(session, user_id),
    )
    counts = {k: v for k, v in dataclasses.asdict(erasure).items() if k not in ("user_id", "erased_at")}
    await record_change(
        session,
        actor=dataclasses.replace(actor, ip_address=None),
        action="user.erase",
        entity_type="user",
        entity_id=user_id,
        after={"erased": True, **counts},
    )
    return Outcome(value=erasure, ref=("User", user_id))


async def erasure_of(context: RequestContext, ref: dict[str, Any]) -> Erasure | None:
    """An erasure as it stands now, read through the loaders (idempotent replays): an erased user
    still sees their own row."""
    user = await context.loader(UserByIdLoader).load(int(ref["id"]))
    return None if user is None or user.deleted_at is None else Erasure(user.id, user.deleted_at)
