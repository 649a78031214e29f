"""Due notifications, delivered: shown in the centre, and a delivery row per channel to send.

A batch is claimed with FOR UPDATE SKIP LOCKED, so any number of job workers take disjoint batches;
marking `sent_at` and writing the deliveries happen in the claim's transaction, so a worker killed
half-way leaves the batch due, whole, for the next one. In-app is delivered by the row itself; push
goes to each active device, e-mail to the address, each only if the person did not turn that channel
off for the category. The commit names the people (notifications.user_id) for
`notificationReceived`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from models.notifications import Category, Channel, DeliveryStatus

CLAIM_DUE = text("""
UPDATE notifications AS n SET sent_at = :now
FROM (SELECT id FROM notifications
      WHERE sent_at IS NULL AND cancelled_at IS NULL AND deliver_at <= :now
      ORDER BY deliver_at, id LIMIT :limit FOR UPDATE SKIP LOCKED) AS due
WHERE n.id = due.id
RETURNING n.id, n.user_id, n.campaign_id, n.send_id, n.category
""")
# What each claimed person can receive: their e-mail, active devices, and what they turned off.
RECIPIENTS = text("""
SELECT u.id, u.email IS NOT NULL AS has_email,
       ARRAY(SELECT d.id FROM devices d WHERE d.user_id = u.id AND d.active ORDER BY d.id) AS devices,
       ARRAY(SELECT p.channel || '/' || p.category FROM notification_preferences p
             WHERE p.user_id = u.id AND NOT p.enabled) AS turned_off
FROM users u WHERE u.id = ANY(:ids) AND u.deleted_at IS NULL
""")
# Which channels each notification goes out on beyond in-app: a campaign's by its type, a send's own.
CHANNELS = text("""
SELECT n.id,
       CASE c.type WHEN 'push_notification' THEN ARRAY['push'] WHEN 'email_offer' THEN ARRAY['email']
                   ELSE s.channels END AS channels
FROM notifications n
LEFT JOIN campaigns c ON c.id = n.campaign_id
LEFT JOIN notification_sends s ON s.id = n.send_id
WHERE n.id = ANY(:ids)
""")
INSERT_DELIVERIES = text("""
INSERT INTO notification_deliveries (notification_id, channel, device_id, status, last_error, sent_at)
SELECT * FROM unnest(CAST(:notification_id AS bigint[]), CAST(:channel AS text[]),
                     CAST(:device_id AS bigint[]), CAST(:status AS text[]), CAST(:last_error AS text[]),
                     CAST(:sent_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")


@dataclass
class Dispatched:
    notifications: int = 0
    deliveries: int = 0
    skipped: int = 0


def _rows(claimed: list, people: dict, channels: dict, now: dt.datetime) -> list[tuple]:  # type: ignore[type-arg]
    """The delivery rows: (notification, channel, device, status, last_error, sent_at)."""
    rows: list[tuple] = []  # type: ignore[type-arg]
    for n in claimed:
        person = people.get(n.user_id)
        off = set(person.turned_off) if person is not None else set()
        always = n.category == Category.ACCOUNT.value
        rows.append((n.id, Channel.IN_APP.value, None, DeliveryStatus.SENT.value, None, now))
        for channel in channels.get(n.id) or ():
            if channel == Channel.IN_APP.value:
                continue
            if person is None or (not always and f"{channel}/{n.category}" in off):
                rows.append((n.id, channel, None, DeliveryStatus.SKIPPED.value, "OPTED_OUT", None))
            elif channel == Channel.PUSH.value:
                if not person.devices:
                    rows.append((n.id, channel, None, DeliveryStatus.SKIPPED.value, "NO_DEVICE", None))
                rows.extend(
                    (n.id, channel, device, DeliveryStatus.PENDING.value, None, None)
                    for device in person.devices
                )
            elif channel == Channel.EMAIL.value and not person.has_email:
                rows.append((n.id, channel, None, DeliveryStatus.SKIPPED.value, "NO_ADDRESS", None))
            else:
                rows.append((n.id, channel, None, DeliveryStatus.PENDING.value, None, None))
    return rows


async def dispatch_due(session: AsyncSession, *, now: dt.datetime, limit: int) -> Dispatched:
    """Deliver up to `limit` due notifications (the caller commits)."""
    claimed = list((await session.execute(CLAIM_DUE, {"now": now, "limit": limit})).all())
    if not claimed:
        return Dispatched()
    ids = [n.id for n in claimed]
    people = {p.id: p for p in await session.execute(RECIPIENTS, {"ids": list({n.user_id for n in claimed})})}
    channels: defaultdict[int, list[str]] = defaultdict(list)
    for notification_id, names in await session.execute(CHANNELS, {"ids": ids}):
        channels[notification_id] = list(names or [])
    rows = _rows(claimed, people, channels, now)
    columns = list(zip(*rows, strict=True))
    names = ("notification_id", "channel", "device_id", "status", "last_error", "sent_at")
    await session.execute(
        INSERT_DELIVERIES, {name: list(values) for name, values in zip(names, columns, strict=True)}
    )
    # Text statements are invisible to the change tracker: notificationReceived watches these keys.
    wrote_keys(session, "notifications", "user_id", {n.user_id for n in claimed})
    pending = sum(1 for r in rows if r[3] == DeliveryStatus.PENDING.value)
    skipped = sum(1 for r in rows if r[3] == DeliveryStatus.SKIPPED.value)
    return Dispatched(notifications=len(claimed), deliveries=pending, skipped=skipped)
