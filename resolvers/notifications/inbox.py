"""A person's notification centre: what it shows, and marking it read, opened or archived.

Shown: the person's notifications once delivered (`sent_at` set by the delivery job) and not
cancelled; archived ones only when asked. Every write here acts on the viewer's own rows only: an id
of someone else's notification is NOT_FOUND, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from loaders.base import Reader
from loaders.notifications import NOTIFICATION_COLUMNS
from models.notifications import UNREAD, Notification
from resolvers.audit import Actor
from resolvers.outcomes import Outcome, ProblemCode
from resolvers.pagination import Page, PageRequest, SortKey, paginate

# ix_notifications_user_id_sent_at_id, read backwards.
NEWEST_FIRST = SortKey(column=Notification.sent_at, id_column=Notification.id, descending=True)
# One request marks at most this many by id (markNotificationsRead(all: true) has no such bound).
MAX_IDS = 100


@dataclass(frozen=True, slots=True)
class InboxFilter:
    unread_only: bool = False
    include_archived: bool = False


def _shown(user_id: int, f: InboxFilter) -> Select[Any]:
    n = Notification
    query = select(*NOTIFICATION_COLUMNS).where(
        n.user_id == user_id, n.sent_at.is_not(None), n.cancelled_at.is_(None)
    )
    if f.unread_only:
        query = query.where(text(UNREAD))
    elif not f.include_archived:
        query = query.where(n.archived_at.is_(None))
    return query


async def list_inbox(
    *, session: Reader, user_id: int, filter: InboxFilter, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    """One page of the person's centre, newest first, and the filtered query for totalCount."""
    query = _shown(user_id, filter)
    return await paginate(session, query, key=NEWEST_FIRST, page=page), query


def _check_ids(ids: Sequence[int]) -> Outcome[list[int]] | None:
    if not ids:
        return Outcome.one_problem("ids", "Give at least one notification, or all: true.")
    if len(ids) > MAX_IDS:
        return Outcome.one_problem("ids", f"At most {MAX_IDS} ids at once.", ProblemCode.OUT_OF_RANGE)
    return None


async def _stamp(
    session: AsyncSession, *, user_id: int, ids: Sequence[int] | None, column: str, now: dt.datetime
) -> Outcome[list[int]]:
    """Set `column` (read_at, archived_at) on the person's delivered notifications that lack it: the
    given ones (every one must be theirs), or all of them. Returns the ids it changed."""
    n = Notification
    target = getattr(n, column)
    owned = (n.user_id == user_id, n.sent_at.is_not(None), n.cancelled_at.is_(None))
    if ids is not None:
        refused = _check_ids(ids)
        if refused is not None:
            return refused
        found = set((await session.scalars(select(n.id).where(n.id.in_(ids), *owned))).all())
        missing = [i for i in ids if i not in found]
        if missing:
            return Outcome.one_problem("ids", "No notification of yours with this id.", ProblemCode.NOT_FOUND)
    statement = update(n).where(*owned, target.is_(None)).values({column: now}).returning(n.id)
    if ids is not None:
        statement = statement.where(n.id.in_(ids))
    changed = list((await session.scalars(statement)).all())
    if changed:
        wrote_keys(session, n.__tablename__, "user_id", [user_id])
    return Outcome(value=changed, ref=("User", user_id))


async def mark_read(
    session: AsyncSession, *, actor: Actor, user_id: int, ids: Sequence[int] | None, now: dt.datetime
) -> Outcome[list[int]]:
    return await _stamp(session, user_id=user_id, ids=ids, column="read_at", now=now)


async def archive(
    session: AsyncSession, *, actor: Actor, user_id: int, ids: Sequence[int], now: dt.datetime
) -> Outcome[list[int]]:
    return await _stamp(session, user_id=user_id, ids=ids, column="archived_at", now=now)


async def mark_opened(
    session: AsyncSession, *, actor: Actor, user_id: int, notification_id: int, now: dt.datetime
) -> Outcome[int]:
    """The person opened it from a push or the centre: opened and read, once (the first time counts
    for the campaign's analytics)."""
    n = Notification
    row = await session.scalar(
        select(n)
        .where(n.id == notification_id, n.user_id == user_id, n.sent_at.is_not(None))
        .with_for_update()
    )
    if row is None or row.cancelled_at is not None:
        return Outcome.one_problem("id", "No notification of yours with this id.", ProblemCode.NOT_FOUND)
    if row.opened_at is None:
        row.opened_at = now
    if row.read_at is None:
        row.read_at = now
    return Outcome(value=row.id, ref=("Notification", row.id))
