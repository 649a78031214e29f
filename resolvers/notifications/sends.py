"""Staff sends: one message to an audience (some users, a loyalty tier, or a segment), now or at a time.
Tiers and segments are customers; a list of users may name anyone (staff announcements).

The send is a row and a job deferred in the same transaction (for its time): the job writes one
notification per person of the audience as it is then (uq_notifications_send_id_user_id: a retried
job adds nobody twice) and wakes the delivery loop. Cancelling a send cancels what is not delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.jobs.enqueue import enqueue_in
from loaders.base import Reader
from loaders.notifications import SEND_COLUMNS
from models.notifications import Category, Channel, Notification, NotificationSend, SendStatus
from models.users import LoyaltyTier
from resolvers.audit import Actor, record_change, snapshot
from resolvers.notifications.campaign_sends import QUEUE
from resolvers.outcomes import Outcome, ProblemCode, Problems
from resolvers.pagination import Page, PageRequest, SortKey, paginate

FAN_OUT_TASK = "fan-out-notification-send"
TITLE_MAX, BODY_MAX, SEGMENT_MAX, MAX_USERS = 120, 2000, 100, 10_000
DATA_MAX_BYTES = 4096
# How far ahead a send may be scheduled.
MAX_AHEAD = dt.timedelta(days=90)

FAN_OUT = text("""
INSERT INTO notifications (user_id, send_id, category, title, body, data, deliver_at)
SELECT u.id, s.id, s.category, s.title, s.body, s.data, greatest(s.scheduled_for, :now)
FROM notification_sends s
JOIN users u ON u.deleted_at IS NULL AND (
     u.id = ANY(s.audience_user_ids)
  OR (u.role = 'customer' AND (u.loyalty_tier = s.audience_tier
      OR EXISTS (SELECT 1 FROM segment_members m WHERE m.segment = s.audience_segment AND m.user_id = u.id))))
WHERE s.id = :send AND s.status IN ('scheduled', 'sending')
ORDER BY u.id
ON CONFLICT (send_id, user_id) WHERE send_id IS NOT NULL DO NOTHING
""")


@dataclass(frozen=True, slots=True)
class Audience:
    user_ids: Sequence[int] | None = None
    tier: LoyaltyTier | None = None
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class SendFields:
    title: str
    body: str
    audience: Audience
    channels: Sequence[Channel]
    category: Category = Category.ANNOUNCEMENTS
    data: dict[str, Any] | None = None
    scheduled_for: dt.datetime | None = None


def _check(data: SendFields, now: dt.datetime, problems: Problems) -> None:
    problems.require_length("title", data.title.strip(), max_length=TITLE_MAX, required=True)
    problems.require_length("body", data.body.strip(), max_length=BODY_MAX, required=True)
    a = data.audience
    given = sum(x is not None for x in (a.user_ids, a.tier, a.segment))
    if given != 1:
        problems.add("audience", "Give exactly one audience: userIds, tier or segment.")
    if a.user_ids is not None and not 1 <= len(a.user_ids) <= MAX_USERS:
        problems.add("audience.userIds", f"Between 1 and {MAX_USERS} users.", ProblemCode.OUT_OF_RANGE)
    if a.segment is not None:
        problems.require_length("audience.segment", a.segment, max_length=SEGMENT_MAX, required=True)
    if Channel.WEBHOOK in data.channels:
        problems.add(
            "channels", "A webhook is a partner system's channel, not a person's: push, e-mail or in-app."
        )
    if data.data is not None and len(orjson.dumps(data.data)) > DATA_MAX_BYTES:
        problems.add("data", f"At most {DATA_MAX_BYTES} bytes of JSON.", ProblemCode.OUT_OF_RANGE)
    if data.scheduled_for is not None:
        if data.scheduled_for.tzinfo is None:
            problems.add("scheduledFor", "Give a time zone (UTC: a trailing Z).")
        elif not now - dt.timedelta(minutes=5) <= data.scheduled_for <= now + MAX_AHEAD:
            problems.add("scheduledFor", "From now to 90 days ahead.", ProblemCode.OUT_OF_RANGE)


async def create_send(
    session: AsyncSession, *, actor: Actor, data: SendFields, now: dt.datetime
) -> Outcome[NotificationSend]:
    problems = Problems()
    _check(data, now, problems)
    if problems:
        return Outcome.refused(problems)
    channels = sorted({Channel.IN_APP.value, *(c.value for c in data.channels)})
    a = data.audience
    send = NotificationSend(
        created_by=actor.viewer.user_id, title=data.title.strip(), body=data.body.strip(), data=data.data,
        category=data.category.value, channels=channels,
        audience_user_ids=None if a.user_ids is None else sorted(set(a.user_ids)),
        audience_tier=None if a.tier is None else a.tier.value, audience_segment=a.segment,
        scheduled_for=data.scheduled_for or now,
    )  # fmt: skip
    session.add(send)
    await session.flush()
    await session.refresh(send)
    await enqueue_in(
        session, FAN_OUT_TASK, {"send_id": send.id}, queue=QUEUE, run_at=send.scheduled_for,
        queueing_lock=f"{FAN_OUT_TASK}:{send.id}",
    )  # fmt: skip
    await record_change(
        session, actor=actor, action="notification_send.create", entity_type="notification_send",
        entity_id=send.id, after=snapshot(send),
    )  # fmt: skip
    return Outcome(value=send, ref=("NotificationSend", send.id))


async def fan_out(session: AsyncSession, *, send_id: int, now: dt.datetime) -> int:
    """Write the send's notifications (none twice); returns how many were new."""
    send = await session.scalar(
        select(NotificationSend).where(NotificationSend.id == send_id).with_for_update()
    )
    if send is None or send.status not in (SendStatus.SCHEDULED.value, SendStatus.SENDING.value):
        return 0
    written = await session.execute(FAN_OUT, {"send": send_id, "now": now})
    send.status = SendStatus.SENT.value
    send.recipients = int(
        await session.scalar(select(func.count()).where(Notification.send_id == send_id)) or 0
    )
    return int(written.rowcount or 0)  # type: ignore[attr-defined]


async def cancel_send(
    session: AsyncSession, *, actor: Actor, send_id: int, now: dt.datetime
) -> Outcome[NotificationSend]:
    send = await session.scalar(
        select(NotificationSend).where(NotificationSend.id == send_id).with_for_update()
    )
    if send is None:
        return Outcome.one_problem("id", "No such send.", ProblemCode.NOT_FOUND)
    if send.status == SendStatus.CANCELLED.value:
        return Outcome(value=send, ref=("NotificationSend", send.id))
    before = snapshot(send)
    send.status = SendStatus.CANCELLED.value
    n = Notification
    await session.execute(
        update(n)
        .where(n.send_id == send_id, n.sent_at.is_(None), n.cancelled_at.is_(None))
        .values(cancelled_at=now)
    )
    await session.flush()
    await session.refresh(send)
    await record_change(
        session, actor=actor, action="notification_send.cancel", entity_type="notification_send",
        entity_id=send.id, before=before, after=snapshot(send),
    )  # fmt: skip
    return Outcome(value=send, ref=("NotificationSend", send.id))


# ix_notification_sends_status_scheduled_for serves a status filter; the list is short (staff sends).
NEWEST_FIRST = SortKey(column=NotificationSend.created_at, id_column=NotificationSend.id, descending=True)


async def list_sends(
    *, session: Reader, status: SendStatus | None, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    query = select(*SEND_COLUMNS)
    if status is not None:
        query = query.where(NotificationSend.status == status.value)
    return await paginate(session, query, key=NEWEST_FIRST, page=page), query
