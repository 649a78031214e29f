"""Types of the notifications domain: the centre's notifications, devices, and what a person agreed
to receive. Personal rows: each person sees their own (admins everyone's). PRIVATE with max age 0:
never kept by the response cache, and a subscription stream showing them is one person's, never
shared by everyone of a role (transport/websocket_streams.py keys streams by this scope)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import NOTIFICATION_OWNERS
from loaders import notifications as loaders
from models import notifications as m
from schema.caching.hints import CacheScope, cache_hint
from schema.permissions import allow, type_policy

Platform = strawberry.enum(m.Platform, name="DevicePlatform", description="Where a push token comes from.")
Channel = strawberry.enum(
    m.Channel, name="NotificationChannel", description="How a notification reaches a person."
)
Category = strawberry.enum(
    m.Category, name="NotificationCategory", description="What a notification is about."
)


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(NOTIFICATION_OWNERS)
@strawberry.type(description="A message in a person's notification centre.")
class Notification:
    pk: strawberry.Private[int]

    @strawberry.field(description="Global id.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Notification", str(self.pk))

    category: Category = strawberry.field(description="What it is about; preferences are per category.")
    title: str = strawberry.field(description="Headline, as pushed.")
    body: str = strawberry.field(description="Text.")
    data: JSON | None = strawberry.field(
        description='What the app needs to open it, such as {"link": "swipesavvy://offers/42"}.'
    )
    sent_at: dt.datetime = strawberry.field(description="When it was delivered (UTC).")
    read_at: dt.datetime | None = strawberry.field(description="When it was read, if it was (UTC).")
    opened_at: dt.datetime | None = strawberry.field(description="When it was first opened (UTC).")
    archived_at: dt.datetime | None = strawberry.field(description="When it was archived (UTC).")
    campaign_pk: strawberry.Private[int | None]

    @strawberry.field(description="Whether it has been read.")
    def is_read(self) -> bool:
        return self.read_at is not None

    @classmethod
    def from_row(cls, row: m.Notification) -> Notification:
        return cls(
            pk=row.id,
            category=m.Category(row.category),
            title=row.title,
            body=row.body,
            data=row.data,
            # Only delivered notifications are shown (resolvers/notifications/inbox.py).
            sent_at=row.sent_at or row.deliver_at,
            read_at=row.read_at,
            opened_at=row.opened_at,
            archived_at=row.archived_at,
            campaign_pk=row.campaign_id,
        )


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(NOTIFICATION_OWNERS)
@strawberry.type(description="A phone or browser that receives push notifications.")
class Device:
    pk: strawberry.Private[int]

    @strawberry.field(description="Global id.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Device", str(self.pk))

    platform: Platform = strawberry.field(description="iOS (APNs), Android (FCM) or a web browser.")
    app_version: str | None = strawberry.field(description="Version of the app that registered it.")
    active: bool = strawberry.field(description="Whether pushes are sent to it.")
    deactivated_reason: str | None = strawberry.field(
        description="Why it stopped: unregistered (signed out) or invalid_token (the provider said so)."
    )
    last_seen_at: dt.datetime = strawberry.field(description="Last registration (the app's last start).")
    created_at: dt.datetime = strawberry.field(description="First registration (UTC).")

    @classmethod
    def from_row(cls, row: m.Device) -> Device:
        return cls(
            pk=row.id,
            platform=m.Platform(row.platform),
            app_version=row.app_version,
            active=row.active,
            deactivated_reason=row.deactivated_reason,
            last_seen_at=row.last_seen_at,
            created_at=row.created_at,
        )


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(NOTIFICATION_OWNERS)
@strawberry.type(description="Whether a category is received over a channel.")
class NotificationPreference:
    channel: Channel = strawberry.field(description="The channel.")
    category: Category = strawberry.field(description="The category.")
    enabled: bool = strawberry.field(description="Received, or not.")


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(NOTIFICATION_OWNERS)
@strawberry.type(description="Nothing is pushed or mailed between these times of the person's day.")
class QuietHours:
    starts: dt.time = strawberry.field(description="Start, in the person's time zone.")
    ends: dt.time = strawberry.field(description="End; earlier than the start wraps past midnight.")


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(NOTIFICATION_OWNERS)
@strawberry.type(description="What a person agreed to receive, and when.")
class NotificationSettings:
    user_pk: strawberry.Private[int]
    time_zone: str = strawberry.field(description="IANA name notifications are timed in.")
    time_zone_is_default: bool = strawberry.field(
        description="The server's DEFAULT_TIME_ZONE, because the person never chose one."
    )
    quiet_hours: QuietHours | None = strawberry.field(
        description="Quiet hours, if any.", permission_classes=[allow(NOTIFICATION_OWNERS)]
    )

    @strawberry.field(
        description=(
            "Every channel and category with its state: on unless turned off (account messages "
            "are always on)."
        ),
        permission_classes=[allow(NOTIFICATION_OWNERS)],
    )
    async def preferences(self, info: Ctx) -> list[NotificationPreference] | None:
        rows = await info.context.loader(loaders.PreferencesByUserLoader).load(self.user_pk)
        chosen = {(r.channel, r.category): r.enabled for r in rows}
        return [
            NotificationPreference(
                channel=channel, category=category, enabled=chosen.get((channel.value, category.value), True)
            )
            for channel in m.Channel
            for category in m.Category
        ]
