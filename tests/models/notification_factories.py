"""Factories of the notifications domain (tests/models/factories.py registers them in FACTORIES)."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications import (
    Device,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationSend,
    QuietHours,
    SegmentMember,
)
from tests.models.factories import T0, Factory, _parent, _save, make_user, seq


async def make_segment_member(db: AsyncSession, **o: Any) -> SegmentMember:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, SegmentMember, {"segment": f"segment_{seq()}"}, o)


async def make_device(db: AsyncSession, **o: Any) -> Device:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, Device, {"platform": "ios", "token": f"device-token-{seq():08d}"}, o)


async def make_notification_preference(db: AsyncSession, **o: Any) -> NotificationPreference:
    await _parent(db, o, "user_id", make_user)
    defaults = {"channel": "push", "category": "offers", "enabled": False}
    return await _save(db, NotificationPreference, defaults, o)


async def make_quiet_hours(db: AsyncSession, **o: Any) -> QuietHours:
    await _parent(db, o, "user_id", make_user)
    return await _save(db, QuietHours, {"starts": time(22, 0), "ends": time(7, 0)}, o)


async def make_notification_send(db: AsyncSession, **o: Any) -> NotificationSend:
    await _parent(db, o, "created_by", make_user)
    defaults = {
        "title": "Hello",
        "body": "News",
        "channels": ["in_app"],
        "audience_tier": "gold",
        "scheduled_for": T0,
    }
    return await _save(db, NotificationSend, defaults, o)


async def make_notification(db: AsyncSession, **o: Any) -> Notification:
    await _parent(db, o, "user_id", make_user)
    defaults = {"category": "offers", "title": f"Offer {seq()}", "body": "For you", "deliver_at": T0}
    return await _save(db, Notification, defaults, o)


async def make_notification_delivery(db: AsyncSession, **o: Any) -> NotificationDelivery:
    await _parent(db, o, "notification_id", make_notification)
    return await _save(db, NotificationDelivery, {"channel": "in_app"}, o)


NOTIFICATION_FACTORIES: dict[str, Factory] = {
    "segment_members": make_segment_member,
    "devices": make_device,
    "notification_preferences": make_notification_preference,
    "notification_quiet_hours": make_quiet_hours,
    "notification_sends": make_notification_send,
    "notifications": make_notification,
    "notification_deliveries": make_notification_delivery,
}
