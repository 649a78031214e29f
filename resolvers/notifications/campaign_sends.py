"""Campaign sends: starting a push or e-mail campaign schedules one notification per person of its
audience, each at that person's time; pausing or ending it cancels what is not delivered yet.

The audience: customers not erased, in the campaign's `target_segment` when it names one
(segment_members), all of them otherwise. A person who turned the campaign's every channel off for
offers is skipped, and so is one the daily cap leaves no day for.

Exactly one notification per (campaign, person) whatever crashes, retries or duplicate starts
happen: uq_notifications_campaign_id_user_id, and ON CONFLICT. A resumed campaign brings back its
cancelled, undelivered notifications at their new time. Each batch is its own transaction and
share-locks the campaign row first: a pause (which locks it for update) waits for the batch in
flight, then cancels it with the rest, and the next batch sees the pause and stops.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.jobs.enqueue import enqueue_in
from core.settings import Settings
from models.campaigns import Campaign, CampaignStatus, CampaignType
from models.notifications import Category, Channel, Notification
from resolvers.notifications.timing import Person, send_time

SCHEDULE_TASK = "schedule-campaign-notifications"
QUEUE = "notifications"
CHANNELS = {
    CampaignType.PUSH_NOTIFICATION.value: (Channel.IN_APP, Channel.PUSH),
    CampaignType.EMAIL_OFFER.value: (Channel.IN_APP, Channel.EMAIL),
}
STOPPED = (CampaignStatus.PAUSED.value, CampaignStatus.COMPLETED.value, CampaignStatus.ARCHIVED.value)

AUDIENCE = text("""
SELECT u.id, u.time_zone, s.optimal_hour, s.optimal_day_of_week, q.starts, q.ends,
       ARRAY(SELECT p.channel FROM notification_preferences p
             WHERE p.user_id = u.id AND p.category = :category AND NOT p.enabled) AS turned_off
FROM users u
LEFT JOIN user_optimal_send_times s ON s.user_id = u.id
LEFT JOIN notification_quiet_hours q ON q.user_id = u.id
WHERE u.role = 'customer' AND u.deleted_at IS NULL AND u.id > :after
  AND (CAST(:segment AS text) IS NULL
       OR EXISTS (SELECT 1 FROM segment_members m WHERE m.segment = :segment AND m.user_id = u.id))
ORDER BY u.id
LIMIT :limit
""")
TAKEN = text("""
SELECT user_id, deliver_at FROM notifications
WHERE user_id = ANY(:ids) AND cancelled_at IS NULL AND campaign_id IS DISTINCT FROM :campaign
  AND deliver_at >= :since AND deliver_at < :until
""")
# Revives a cancelled notification not delivered yet (a resumed campaign); a delivered one stays.
INSERT = text("""
INSERT INTO notifications AS n (user_id, campaign_id, category, title, body, data, deliver_at)
SELECT u.user_id, :campaign, :category, :title, :body, CAST(:data AS jsonb), u.deliver_at
FROM unnest(CAST(:user_ids AS bigint[]), CAST(:deliver_at AS timestamptz[])) AS u(user_id, deliver_at)
ORDER BY u.user_id
ON CONFLICT (campaign_id, user_id) WHERE campaign_id IS NOT NULL
DO UPDATE SET cancelled_at = NULL, deliver_at = excluded.deliver_at
  WHERE n.sent_at IS NULL AND n.cancelled_at IS NOT NULL
RETURNING n.user_id
""")


@dataclass
class ScheduleReport:
    scheduled: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    # Why nothing was scheduled at all (not a sending campaign, not running).
    stopped: str | None = None


async def on_status_change(session: AsyncSession, campaign: Campaign, now: dt.datetime) -> None:
    """Called in the transition's transaction: a running sending campaign gets its schedule job
    (deferred in this transaction: it exists only if the start commits); a stopped one loses what it
    has not delivered."""
    if campaign.status == CampaignStatus.RUNNING.value and campaign.type in CHANNELS:
        await enqueue_in(
            session,
            SCHEDULE_TASK,
            {"campaign_id": campaign.id},
            queue=QUEUE,
            queueing_lock=f"{SCHEDULE_TASK}:{campaign.id}",
            lock=f"{SCHEDULE_TASK}:{campaign.id}",
        )
    elif campaign.status in STOPPED:
        await cancel_undelivered(session, campaign.id, now)


async def cancel_undelivered(session: AsyncSession, campaign_id: int, now: dt.datetime) -> int:
    n = Notification
    cancelled = await session.execute(
        update(n)
        .where(n.campaign_id == campaign_id, n.sent_at.is_(None), n.cancelled_at.is_(None))
        .values(cancelled_at=now)
    )
    return int(cancelled.rowcount or 0)  # type: ignore[attr-defined]


def _person(row: Any, default_zone: ZoneInfo) -> Person:
    zone = default_zone
    if row.time_zone:
        try:
            zone = ZoneInfo(row.time_zone)
        except (KeyError, ValueError):
            zone = default_zone  # written before a tz database update removed it
    quiet = (row.starts, row.ends) if row.starts is not None else None
    return Person(time_zone=zone, best_hour=row.optimal_hour, best_day=row.optimal_day_of_week, quiet=quiet)


async def schedule_batch(
    session: AsyncSession, *, campaign_id: int, after: int, now: dt.datetime, settings: Settings
) -> tuple[int | None, ScheduleReport]:
    """Schedule the audience after user id `after`, one batch; returns the next `after` (None: done)."""
    report = ScheduleReport()
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update(read=True)
    )
    if campaign is None or campaign.status != CampaignStatus.RUNNING.value or campaign.type not in CHANNELS:
        report.stopped = "NOT_RUNNING" if campaign is not None and campaign.type in CHANNELS else "NOT_A_SEND"
        return None, report
    params = {
        "after": after,
        "segment": campaign.target_segment,
        "category": Category.OFFERS.value,
        "limit": settings.notification_schedule_batch,
    }
    people = (await session.execute(AUDIENCE, params)).all()
    if not people:
        return None, report
    ids = [p.id for p in people]
    horizon = {"since": now - dt.timedelta(days=1), "until": now + dt.timedelta(days=15)}
    taken: defaultdict[int, list[dt.datetime]] = defaultdict(list)
    for user_id, due in await session.execute(TAKEN, {"ids": ids, "campaign": campaign_id, **horizon}):
        taken[user_id].append(due)
    channels = {c.value for c in CHANNELS[campaign.type]}
    default_zone = ZoneInfo(settings.default_time_zone)
    chosen: list[tuple[int, dt.datetime]] = []
    for row in people:
        if channels <= set(row.turned_off):
            report.skipped["OPTED_OUT"] += 1
            continue
        due = send_time(
            _person(row, default_zone), now=now, default_hour=settings.notification_default_hour,
            at_once=campaign.send_at_once, daily_cap=settings.notification_daily_cap, taken=taken[row.id],
        )  # fmt: skip
        if due is None:
            report.skipped["DAILY_CAP"] += 1
        else:
            chosen.append((row.id, due))
    if chosen:
        data = {
            "link": f"swipesavvy://campaigns/{campaign_id}",
            "campaignId": relay.to_base64("Campaign", campaign_id),
        }
        written = await session.execute(
            INSERT,
            {
                "campaign": campaign_id, "category": Category.OFFERS.value, "title": campaign.name[:120],
                "body": campaign.description or campaign.name, "data": _json(data),
                "user_ids": [u for u, _ in chosen], "deliver_at": [d for _, d in chosen],
            },
        )  # fmt: skip
        report.scheduled = len(written.all())
        if len(chosen) > report.scheduled:
            report.skipped["ALREADY_SCHEDULED"] += len(chosen) - report.scheduled
    return ids[-1], report


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


async def schedule_campaign(
    transaction: Callable[[Callable[[AsyncSession], Awaitable[Any]]], Awaitable[Any]],
    *,
    campaign_id: int,
    now: dt.datetime,
    settings: Settings,
) -> ScheduleReport:
    """The whole audience, a batch per transaction (`transaction(work)` runs one and commits it)."""
    total, after = ScheduleReport(), 0
    while after is not None:
        after, report = await transaction(
            lambda session, after=after: schedule_batch(
                session, campaign_id=campaign_id, after=after, now=now, settings=settings
            )
        )
        total.scheduled += report.scheduled
        total.skipped.update(report.skipped)
        total.stopped = total.stopped or report.stopped
    return total
