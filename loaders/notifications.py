"""Loaders of the notifications domain. The centre's rows are personal: the person's own, or any for
admins, applied in the SQL (loaders/visibility.py). What staff see of sending (sends, and the counts
of a send's or a campaign's notifications and deliveries) names no person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, func, select, text

from loaders.base import Loader, Reader, many_per_key, one_per_key
from loaders.visibility import user_rows_visible_to
from models.notifications import (
    UNREAD,
    Device,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationSend,
    QuietHours,
)

NOTIFICATION_COLUMNS = (
    Notification.id, Notification.user_id, Notification.campaign_id, Notification.category,
    Notification.title, Notification.body, Notification.data, Notification.deliver_at,
    Notification.sent_at, Notification.read_at, Notification.opened_at, Notification.archived_at,
    Notification.cancelled_at, Notification.created_at,
)  # fmt: skip
DEVICE_COLUMNS = (
    Device.id, Device.user_id, Device.platform, Device.app_version, Device.active,
    Device.deactivated_reason, Device.last_seen_at, Device.created_at,
)  # fmt: skip
DELIVERY_COLUMNS = (
    NotificationDelivery.id, NotificationDelivery.notification_id, NotificationDelivery.channel,
    NotificationDelivery.device_id, NotificationDelivery.delivery_key, NotificationDelivery.status,
    NotificationDelivery.attempts, NotificationDelivery.last_error, NotificationDelivery.provider,
    NotificationDelivery.provider_id, NotificationDelivery.next_attempt_at, NotificationDelivery.sent_at,
    NotificationDelivery.created_at, NotificationDelivery.updated_at,
)  # fmt: skip


class NotificationByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*NOTIFICATION_COLUMNS).where(
            Notification.id.in_(keys), user_rows_visible_to(self.viewer, Notification.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class UnreadCountByUserLoader(Loader[int, int]):
    # ix_notifications_user_id_unread: a partial index holding exactly these rows.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[int]:
        query = (
            select(Notification.user_id, func.count())
            .where(
                Notification.user_id.in_(keys),
                text(UNREAD),
                user_rows_visible_to(self.viewer, Notification.user_id),
            )
            .group_by(Notification.user_id)
        )
        counts = {user_id: count for user_id, count in (await session.execute(query)).all()}
        return [counts.get(k, 0) for k in keys]


class DevicesByUserLoader(Loader[int, list[Row]]):
    # ix_devices_user_id; a person has a handful of phones and browsers, so the list is not paged.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = (
            select(*DEVICE_COLUMNS)
            .where(Device.user_id.in_(keys), Device.active, user_rows_visible_to(self.viewer, Device.user_id))
            .order_by(Device.user_id, Device.created_at, Device.id)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.user_id)


class DeviceByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*DEVICE_COLUMNS).where(
            Device.id.in_(keys), user_rows_visible_to(self.viewer, Device.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class PreferencesByUserLoader(Loader[int, list[Row]]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        p = NotificationPreference
        query = (
            select(p.user_id, p.channel, p.category, p.enabled)
            .where(p.user_id.in_(keys), user_rows_visible_to(self.viewer, p.user_id))
            .order_by(p.user_id, p.channel, p.category)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.user_id)


class QuietHoursByUserLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        q = QuietHours
        query = select(q.user_id, q.starts, q.ends).where(
            q.user_id.in_(keys), user_rows_visible_to(self.viewer, q.user_id)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.user_id)


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
