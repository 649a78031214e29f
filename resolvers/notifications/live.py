"""What `notificationReceived` listens to and sends: the person's notifications as they are delivered.

The delivery job stamps `sent_at` with the time of its round, and rounds of several workers commit
in any order: "after the newest one sent" would miss one stamped earlier and committed later. The
cursor keeps instead the ids sent in the last SLACK (longer than any delivery round's transaction)
and reads that window again at each change, sending what it has not sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select

from core.changes import key_tag
from loaders.notifications import NOTIFICATION_COLUMNS
from models.notifications import Notification

SLACK = dt.timedelta(minutes=10)


@dataclass
class InboxCursor:
    user_id: int
    since: dt.datetime
    # id -> sent_at of what was sent (or was there before subscribing), within the window
    sent: dict[int, dt.datetime] = field(default_factory=dict)


def inbox_tags(user_id: int) -> list[str]:
    """Delivery names the people it delivered to (resolvers/notifications/dispatch.py)."""
    return [key_tag(Notification.__tablename__, "user_id", user_id)]


def _window(user_id: int, since: dt.datetime) -> Any:
    n = Notification
    return (
        select(*NOTIFICATION_COLUMNS)
        .where(n.user_id == user_id, n.sent_at >= since, n.cancelled_at.is_(None))
        .order_by(n.sent_at, n.id)
    )


async def inbox_cursor(context: Any, user_id: int) -> InboxCursor:
    """A cursor after everything delivered so far: the subscriber is sent what is delivered next."""
    now = dt.datetime.now(dt.UTC)
    cursor = InboxCursor(user_id=user_id, since=now - SLACK)
    async with context.read_connection() as session:
        for row in await session.execute(_window(user_id, cursor.since)):
            cursor.sent[row.id] = row.sent_at
    return cursor


async def delivered_since(context: Any, cursor: InboxCursor) -> list[Row]:
    """The notifications delivered since the cursor was last read, oldest first; the cursor moves on."""
    async with context.read_connection() as session:
        rows = list((await session.execute(_window(cursor.user_id, cursor.since))).all())
    new = [row for row in rows if row.id not in cursor.sent]
    for row in new:
        cursor.sent[row.id] = row.sent_at
    cursor.since = max(cursor.since, dt.datetime.now(dt.UTC) - SLACK)
    cursor.sent = {i: at for i, at in cursor.sent.items() if at >= cursor.since}
    return new
