"""Subscriptions of the notifications domain: the signed-in person's new notifications, live."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from core.change_feed import Watch
from core.context import Ctx
from core.live import LiveContext, live_context, open_watch
from core.policies import NOTIFICATION_OWNERS
from resolvers.notifications import live
from schema.notifications.queries import own_user_id
from schema.notifications.types import Notification
from schema.permissions import allow


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(
        description=(
            "Each notification delivered to you from now on, once, as its delivery commits (the "
            "app's bell and banner); none from before subscribing."
        ),
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def notification_received(self, info: Ctx) -> AsyncGenerator[Notification | None, None]:
        context = live_context(info.context)
        user_id = own_user_id(info)
        watch = open_watch(context, live.inbox_tags(user_id))
        try:
            cursor = await live.inbox_cursor(context, user_id)
        except BaseException:
            watch.close()
            raise
        return _received(context, watch, cursor)


async def _received(
    context: LiveContext, watch: Watch, cursor: live.InboxCursor
) -> AsyncGenerator[Notification | None, None]:
    try:
        while True:
            await context.take(watch)
            for row in await live.delivered_since(context, cursor):
                yield Notification.from_row(row)  # type: ignore[arg-type]
    finally:
        watch.close()
