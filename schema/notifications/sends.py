"""Staff sends to an audience, their delivery summary, and the counts a campaign's sends feed."""

from __future__ import annotations

import datetime as dt
from functools import partial

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import ANALYTICS_READERS, NOTIFICATION_SENDERS
from loaders.notifications import CountsBySendLoader, NotificationSendByIdLoader, SendCounts
from models import notifications as m
from models.users import LoyaltyTier as TierModel
from resolvers.notifications import sends
from schema.connections import Connection, page_request, paged
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.notifications.types import Category, Channel
from schema.permissions import allow, type_policy
from schema.users.types import LoyaltyTier

SendStatus = strawberry.enum(m.SendStatus, name="NotificationSendStatus", description="Where a send is.")
DeliveryStatus = strawberry.enum(m.DeliveryStatus, description="Where one delivery is.")


@type_policy(ANALYTICS_READERS)
@strawberry.type(description="How many deliveries of one channel are in one state.")
class DeliveryCount:
    channel: Channel = strawberry.field(description="The channel.")
    status: DeliveryStatus = strawberry.field(description="The state.")
    count: int = strawberry.field(description="How many.")


@type_policy(ANALYTICS_READERS)
@strawberry.type(description="What became of the notifications of a send or a campaign (no person named).")
class NotificationCounts:
    scheduled: int = strawberry.field(description="Waiting for their time.")
    shown: int = strawberry.field(description="Delivered to the notification centre.")
    opened: int = strawberry.field(description="Opened by the person (openNotification).")
    cancelled: int = strawberry.field(description="Cancelled before delivery (paused, ended, cancelled).")
    deliveries: list[DeliveryCount] | None = strawberry.field(
        description="Per channel and state.", permission_classes=[allow(ANALYTICS_READERS)]
    )

    @classmethod
    def from_counts(cls, c: SendCounts) -> NotificationCounts:
        return cls(
            scheduled=c.scheduled, shown=c.shown, opened=c.opened, cancelled=c.cancelled,
            deliveries=[
                DeliveryCount(channel=m.Channel(ch), status=m.DeliveryStatus(st), count=n)
                for ch, st, n in c.deliveries
            ],
        )  # fmt: skip


@type_policy(NOTIFICATION_SENDERS)
@strawberry.type(description="A message staff sent to an audience.")
class NotificationSend:
    pk: strawberry.Private[int]

    @strawberry.field(description="Global id.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("NotificationSend", str(self.pk))

    title: str = strawberry.field(description="Headline.")
    body: str = strawberry.field(description="Text.")
    data: JSON | None = strawberry.field(description="Deep-link data.")
    category: Category = strawberry.field(description="Category (preferences apply).")
    channels: list[Channel] = strawberry.field(description="Channels, in-app always among them.")
    audience_tier: LoyaltyTier | None = strawberry.field(description="Audience: this loyalty tier.")
    audience_segment: str | None = strawberry.field(description="Audience: this segment.")
    audience_user_count: int | None = strawberry.field(description="Audience: this many listed users.")
    scheduled_for: dt.datetime = strawberry.field(description="When it goes out (UTC).")
    status: SendStatus = strawberry.field(description="Where it is.")
    recipients: int = strawberry.field(description="People it was written for.")
    created_at: dt.datetime = strawberry.field(description="When it was made (UTC).")

    @strawberry.field(
        description="What became of its notifications.", permission_classes=[allow(NOTIFICATION_SENDERS)]
    )
    async def counts(self, info: Ctx) -> NotificationCounts | None:
        return NotificationCounts.from_counts(await info.context.loader(CountsBySendLoader).load(self.pk))

    @classmethod
    def from_row(cls, row: m.NotificationSend) -> NotificationSend:
        return cls(
            pk=row.id, title=row.title, body=row.body, data=row.data, category=m.Category(row.category),
            channels=[m.Channel(c) for c in row.channels],
            audience_tier=None if row.audience_tier is None else TierModel(row.audience_tier),
            audience_segment=row.audience_segment,
            audience_user_count=None if row.audience_user_ids is None else len(row.audience_user_ids),
            scheduled_for=row.scheduled_for, status=m.SendStatus(row.status), recipients=row.recipients,
            created_at=row.created_at,
        )  # fmt: skip


@strawberry.input(description="Exactly one audience.")
class AudienceInput:
    user_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="These users (up to 10,000)."
    )
    tier: LoyaltyTier | None = strawberry.field(default=None, description="Customers of this tier.")
    segment: str | None = strawberry.field(default=None, description="Customers in this segment.")


@strawberry.input(description="A message to an audience, now or at a time.")
class SendNotificationInput:
    title: str = strawberry.field(description="Headline (1-120 characters).")
    body: str = strawberry.field(description="Text (1-2000 characters).")
    audience: AudienceInput = strawberry.field(description="Who receives it.")
    channels: list[Channel] = strawberry.field(
        description="Push and/or e-mail besides in-app (always); empty: in-app only."
    )
    category: Category = strawberry.field(default=m.Category.ANNOUNCEMENTS, description="Its category.")
    data: JSON | None = strawberry.field(default=None, description="Deep-link data (up to 4 KB of JSON).")
    scheduled_for: dt.datetime | None = strawberry.field(
        default=None, description="When (UTC); now if omitted."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="A send to cancel (what is not delivered yet).")
class CancelNotificationSendInput:
    id: relay.GlobalID = strawberry.field(description="The send.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The send as written, or why nothing was written.")
class NotificationSendPayload:
    send: NotificationSend | None = strawberry.field(description="The send after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


REREAD = by_id(NotificationSendByIdLoader)


@strawberry.type
class NotificationSendMutation:
    @strawberry.mutation(
        description="Send a message to an audience, now or at a time (marketers and admins).",
        permission_classes=[allow(NOTIFICATION_SENDERS)],
    )
    async def send_notification(
        self, info: Ctx, input: SendNotificationInput
    ) -> NotificationSendPayload | None:
        errors: list[UserError] = []
        user_ids = None
        if input.audience.user_ids is not None:
            user_ids = [pk_of(gid, "User") for gid in input.audience.user_ids]
            if any(pk is None for pk in user_ids):
                errors.extend(not_an_id("audience.userIds", "User"))
        if errors:
            return NotificationSendPayload(send=None, user_errors=errors)
        audience = sends.Audience(
            user_ids=user_ids,  # type: ignore[arg-type]
            tier=None if input.audience.tier is None else TierModel(input.audience.tier.value),
            segment=input.audience.segment,
        )
        fields = sends.SendFields(
            title=input.title, body=input.body, audience=audience,
            channels=[m.Channel(c.value) for c in input.channels], category=m.Category(input.category.value),
            data=input.data, scheduled_for=input.scheduled_for,
        )  # fmt: skip
        write = partial(sends.create_send, data=fields, now=dt.datetime.now(dt.UTC))
        row, errors = await run_mutation(
            info, operation="sendNotification", input=input, write=write, reread=REREAD
        )
        return NotificationSendPayload(
            send=None if row is None else NotificationSend.from_row(row), user_errors=errors
        )

    @strawberry.mutation(
        description="Cancel a send: what is not delivered yet never will be.",
        permission_classes=[allow(NOTIFICATION_SENDERS)],
    )
    async def cancel_notification_send(
        self, info: Ctx, input: CancelNotificationSendInput
    ) -> NotificationSendPayload | None:
        send_id = pk_of(input.id, "NotificationSend")
        if send_id is None:
            return NotificationSendPayload(send=None, user_errors=not_an_id("id", "NotificationSend"))
        write = partial(sends.cancel_send, send_id=send_id, now=dt.datetime.now(dt.UTC))
        row, errors = await run_mutation(
            info, operation="cancelNotificationSend", input=input, write=write, reread=REREAD
        )
        return NotificationSendPayload(
            send=None if row is None else NotificationSend.from_row(row), user_errors=errors
        )


@strawberry.type
class NotificationSendQuery:
    @strawberry.field(
        description="Sends to audiences, newest first, a page at a time (marketers and admins).",
        permission_classes=[allow(NOTIFICATION_SENDERS)],
    )
    async def notification_sends(
        self,
        info: Ctx,
        status: SendStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[NotificationSend] | None:
        request = page_request(first, after, last, before)
        wanted = None if status is None else m.SendStatus(status.value)
        return await paged(
            info.context,
            lambda session: sends.list_sends(session=session, status=wanted, page=request),
            NotificationSend.from_row,
        )
