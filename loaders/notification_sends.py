"""Loaders of what staff see of sending: sends, and the counts of the notifications and deliveries of a
send or a campaign (the delivery log's summary; no person is named)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, func, select

from loaders.base import Loader, Reader, one_per_key
from models.notifications import Notification, NotificationDelivery, NotificationSend

SEND_COLUMNS = (
    NotificationSend.id, NotificationSend.title, NotificationSend.body, NotificationSend.data,
    NotificationSend.category, NotificationSend.channels, NotificationSend.audience_user_ids,
    NotificationSend.audience_tier, NotificationSend.audience_segment, NotificationSend.scheduled_for,
    NotificationSend.status, NotificationSend.recipients, NotificationSend.created_at,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SendCounts:
    """Notifications by state, and deliveries by (channel, status)."""

    scheduled: int = 0
    shown: int = 0
    opened: int = 0
    cancelled: int = 0
    deliveries: tuple[tuple[str, str, int], ...] = ()


class NotificationSendByIdLoader(Loader[int, Row | None]):
    # Only NOTIFICATION_SENDERS reach the fields that use it (schema/notifications/send_queries.py).
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*SEND_COLUMNS).where(NotificationSend.id.in_(keys))
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


async def _counts(session: Reader, column: object, keys: list[int]) -> list[SendCounts]:
    n, d = Notification, NotificationDelivery
    states = (
        select(
            column,
            func.count().filter(n.sent_at.is_(None), n.cancelled_at.is_(None)),
            func.count().filter(n.sent_at.is_not(None)),
            func.count().filter(n.opened_at.is_not(None)),
            func.count().filter(n.cancelled_at.is_not(None)),
        )
        .where(column.in_(keys))  # type: ignore[attr-defined]
        .group_by(column)
    )
    by_key = {row[0]: row[1:] for row in await session.execute(states)}
    deliveries = (
        select(column, d.channel, d.status, func.count())
        .join(n, n.id == d.notification_id)
        .where(column.in_(keys))  # type: ignore[attr-defined]
        .group_by(column, d.channel, d.status)
        .order_by(column, d.channel, d.status)
    )
    per_key: dict[int, list[tuple[str, str, int]]] = {}
    for key, channel, status, count in await session.execute(deliveries):
        per_key.setdefault(key, []).append((channel, status, count))
    return [
        SendCounts(*by_key[k], deliveries=tuple(per_key.get(k, ()))) if k in by_key else SendCounts()
        for k in keys
    ]


class CountsBySendLoader(Loader[int, SendCounts]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[SendCounts]:
        return await _counts(session, Notification.send_id, keys)


class CountsByCampaignLoader(Loader[int, SendCounts]):
    # uq_notifications_campaign_id_user_id serves the grouping; deliveries by their notification.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[SendCounts]:
        return await _counts(session, Notification.campaign_id, keys)
