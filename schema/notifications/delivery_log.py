"""The delivery log for admins: each delivery's channel, state, attempts and the provider's answer."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from core.context import Ctx
from core.policies import ADMINS
from models import notifications as m
from resolvers.notifications import delivery_log
from schema.caching.hints import CacheScope, cache_hint
from schema.connections import Connection, page_request, paged
from schema.nodes import filter_pk
from schema.notifications.sends import DeliveryStatus
from schema.notifications.types import Channel
from schema.permissions import allow, type_policy


@cache_hint(max_age=0, scope=CacheScope.PRIVATE)
@type_policy(ADMINS)
@strawberry.type(description="One notification over one channel (and device), as the delivery job left it.")
class NotificationDelivery:
    pk: strawberry.Private[int]
    notification_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    channel: Channel = strawberry.field(description="The channel.")
    status: DeliveryStatus = strawberry.field(description="Where it is.")
    attempts: int = strawberry.field(description="Attempts so far.")
    last_error: str | None = strawberry.field(description="The last failure's code (never exception text).")
    provider: str | None = strawberry.field(description="The provider that answered (log, smtp, apns, fcm).")
    provider_id: str | None = strawberry.field(description="The provider's id for it (Message-ID, apns-id).")
    delivery_key: str = strawberry.field(
        description="The id every attempt sends, for receivers to drop repeats."
    )
    next_attempt_at: dt.datetime | None = strawberry.field(description="When it is tried again, if pending.")
    sent_at: dt.datetime | None = strawberry.field(description="When the provider accepted it.")
    created_at: dt.datetime = strawberry.field(
        description="When it was written (the notification delivered)."
    )

    @strawberry.field(description="Global id.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("NotificationDelivery", str(self.pk))

    @strawberry.field(description="Global id of the notification.")
    def notification_id(self) -> relay.GlobalID:
        return relay.GlobalID("Notification", str(self.notification_pk))

    @strawberry.field(description="Global id of the person.")
    def user_id(self) -> relay.GlobalID:
        return relay.GlobalID("User", str(self.user_pk))

    @classmethod
    def from_row(cls, row: m.NotificationDelivery) -> NotificationDelivery:
        return cls(
            pk=row.id, notification_pk=row.notification_id, user_pk=row.user_id,  # type: ignore[attr-defined]
            channel=m.Channel(row.channel), status=m.DeliveryStatus(row.status), attempts=row.attempts,
            last_error=row.last_error, provider=row.provider, provider_id=row.provider_id,
            delivery_key=str(row.delivery_key), next_attempt_at=row.next_attempt_at, sent_at=row.sent_at,
            created_at=row.created_at,
        )  # fmt: skip


@strawberry.input(description="Which deliveries to list; all given filters must match.")
class DeliveryFilterInput:
    send_id: relay.GlobalID | None = strawberry.field(default=None, description="Of this NotificationSend.")
    campaign_id: relay.GlobalID | None = strawberry.field(default=None, description="Of this Campaign.")
    status: DeliveryStatus | None = strawberry.field(default=None, description="In this state.")
    channel: Channel | None = strawberry.field(default=None, description="Over this channel.")


@strawberry.type
class DeliveryLogQuery:
    @strawberry.field(
        description="The delivery log, newest first, a page at a time (admins).",
        permission_classes=[allow(ADMINS)],
    )
    async def notification_deliveries(
        self,
        info: Ctx,
        filter: DeliveryFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[NotificationDelivery] | None:
        f = filter or DeliveryFilterInput()
        criteria = delivery_log.DeliveryFilter(
            send_id=filter_pk(f.send_id, "NotificationSend", "filter.sendId"),
            campaign_id=filter_pk(f.campaign_id, "Campaign", "filter.campaignId"),
            status=None if f.status is None else m.DeliveryStatus(f.status.value),
            channel=None if f.channel is None else m.Channel(f.channel.value),
        )
        request = page_request(first, after, last, before)
        return await paged(
            info.context,
            lambda session: delivery_log.list_deliveries(session=session, filter=criteria, page=request),
            NotificationDelivery.from_row,
        )
