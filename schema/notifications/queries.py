"""Root fields of the notifications domain: the signed-in person's centre, devices and settings."""

from __future__ import annotations

import strawberry

from core.context import Ctx
from core.errors import Forbidden
from core.policies import NOTIFICATION_OWNERS
from loaders.notifications import DevicesByUserLoader, QuietHoursByUserLoader, UnreadCountByUserLoader
from loaders.users import UserByIdLoader
from resolvers.notifications import inbox
from schema.connections import Connection, page_request, paged
from schema.notifications.types import Device, Notification, NotificationSettings, QuietHours
from schema.permissions import allow


def own_user_id(info: Ctx) -> int:
    """The viewer's own user: a role with no person behind it (an API key) has no notifications."""
    user_id = info.context.viewer.user_id
    if user_id is None:
        raise Forbidden("Notifications belong to a signed-in person.")
    return user_id


@strawberry.input(description="Which notifications of the centre to list.")
class NotificationFilterInput:
    unread_only: bool = strawberry.field(default=False, description="Only unread (and not archived) ones.")
    include_archived: bool = strawberry.field(default=False, description="Archived ones too.")


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="Your notification centre, newest first, a page at a time.",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def my_notifications(
        self,
        info: Ctx,
        filter: NotificationFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification] | None:
        user_id = own_user_id(info)
        f = filter or NotificationFilterInput()
        criteria = inbox.InboxFilter(unread_only=f.unread_only, include_archived=f.include_archived)
        request = page_request(first, after, last, before)
        return await paged(
            info.context,
            lambda session: inbox.list_inbox(session=session, user_id=user_id, filter=criteria, page=request),
            Notification.from_row,
        )

    @strawberry.field(
        description="How many of your notifications are unread (the badge on the app's bell).",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def unread_notification_count(self, info: Ctx) -> int | None:
        return await info.context.loader(UnreadCountByUserLoader).load(own_user_id(info))  # type: ignore[no-any-return]

    @strawberry.field(
        description="Your devices that receive push notifications.",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def my_devices(self, info: Ctx) -> list[Device] | None:
        rows = await info.context.loader(DevicesByUserLoader).load(own_user_id(info))
        return [Device.from_row(row) for row in rows]

    @strawberry.field(
        description="What you receive, over which channel, and when (time zone, quiet hours).",
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def my_notification_settings(self, info: Ctx) -> NotificationSettings | None:
        return await settings_of(info, own_user_id(info))


async def settings_of(info: Ctx, user_id: int) -> NotificationSettings | None:
    user = await info.context.loader(UserByIdLoader).load(user_id)
    if user is None:
        return None
    quiet = await info.context.loader(QuietHoursByUserLoader).load(user_id)
    return NotificationSettings(
        user_pk=user_id,
        time_zone=user.time_zone or info.context.settings.default_time_zone,
        time_zone_is_default=user.time_zone is None,
        quiet_hours=None if quiet is None else QuietHours(starts=quiet.starts, ends=quiet.ends),
    )
