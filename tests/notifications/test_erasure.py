"""An erased account's notification data: devices, preferences, quiet hours, segments and time zone
gone; its notifications kept for the campaigns' counts but blanked, the providers' ids nulled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications import (
    Device,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    QuietHours,
    SegmentMember,
)
from models.users import User
from tests.models import factories as f
from tests.models import notification_factories as n
from tests.users.support import customer

ERASE = "mutation { deleteMyAccount(input: {confirm: true}) { erasedAt userErrors { code } } }"
NOW = dt.datetime.now(dt.UTC)


async def test_erasure_removes_the_persons_notification_data(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    person = await f.make_user(db, role="customer", time_zone="Europe/Paris")
    other = await f.make_user(db, role="customer")
    for user in (person, other):
        await n.make_device(db, user_id=user.id)
        await n.make_notification_preference(db, user_id=user.id)
        await n.make_quiet_hours(db, user_id=user.id)
        await n.make_segment_member(db, user_id=user.id, segment="vip")
        note = await n.make_notification(
            db, user_id=user.id, title="Hi Ann", data={"name": "Ann"}, sent_at=NOW
        )
        await n.make_notification_delivery(
            db, notification_id=note.id, channel="email", provider_id="<x@mail>"
        )

    result = await gql(ERASE, viewer=customer(person.id))

    assert result.data["deleteMyAccount"]["userErrors"] == []
    for model in (Device, NotificationPreference, QuietHours, SegmentMember):
        owners = (await db.scalars(select(model.user_id))).all()
        assert sorted(owners) == [other.id], model.__tablename__
    assert await db.scalar(select(User.time_zone).where(User.id == person.id)) is None
    kept = (await db.execute(select(Notification.user_id, Notification.title, Notification.data))).all()
    assert sorted(kept) == sorted([(person.id, "[erased]", None), (other.id, "Hi Ann", {"name": "Ann"})])
    provider_ids = await db.scalar(select(func.count()).where(NotificationDelivery.provider_id.is_not(None)))
    assert provider_ids == 1
