"""What a person's erasure (resolvers/users/erasure.py) does to the notifications domain.

Devices (push tokens), preferences, quiet hours, segment memberships and the time zone are personal
data: deleted. Notifications and their deliveries stay, anonymised by the erased user row like
transactions, so a campaign's sent and opened counts do not change; their text and deep-link data
(which may quote the person) are blanked and the providers' ids (a Message-ID the provider can tie
to an address) nulled.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications import (
    Device,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    QuietHours,
    SegmentMember,
)

ERASED = "[erased]"


async def forget_person(session: AsyncSession, user_id: int) -> int:
    """Delete and blank the person's notification data; returns how many rows it deleted or blanked."""
    touched = 0
    for model in (Device, NotificationPreference, QuietHours, SegmentMember):
        result = await session.execute(delete(model).where(model.user_id == user_id).returning(model.id))
        touched += len(result.all())
    mine = select(Notification.id).where(Notification.user_id == user_id).scalar_subquery()
    blanked = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id)
        .values(title=ERASED, body="", data=None)
        .returning(Notification.id)
    )
    touched += len(blanked.all())
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.notification_id.in_(mine), NotificationDelivery.provider_id.is_not(None))
        .values(provider_id=None)
    )
    return touched
