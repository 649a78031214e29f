"""Notification jobs: a campaign's schedule, and the delivery loop.

`schedule-campaign-notifications` is deferred by a campaign's start, in its transaction
(resolvers/notifications/campaign_sends.py). `deliver-notifications` runs while there is work: it
delivers due notifications (dispatch.py) and sends pending deliveries through their providers
(attempts.py), then defers itself again NOTIFICATION_POLL_S later; a queueing lock keeps at most one
waiting, and a periodic tick restarts it should it ever stop (a worker killed between the two). While
a round finds a full batch it defers one more loop, so idle workers join a backlog.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import procrastinate
from procrastinate.job_context import JobContext

from core.delivery.message import Code, Result
from core.delivery.registry import Delivery
from core.jobs.enqueue import enqueue_in
from core.jobs.periodic import DELIVERY, in_transaction, schedule
from core.jobs.retry import backoff
from core.settings import Settings
from resolvers.notifications import attempts, campaign_sends, dispatch, sends

log = logging.getLogger("swipesavvy.jobs")

QUEUE = campaign_sends.QUEUE
DELIVER = "deliver-notifications"
NO_ADDRESS = Result.rejected(Code.INVALID_RECIPIENT, reason="no address or active device")


def policy(settings: Settings) -> attempts.Policy:
    return attempts.Policy(
        max_attempts=settings.delivery_max_attempts,
        retry_base_s=settings.delivery_retry_base_s,
        retry_max_s=settings.delivery_retry_max_s,
        lease_s=settings.delivery_lease_s,
    )


async def defer_delivery(session: Any, *, run_at: dt.datetime | None = None) -> None:
    """The delivery loop, soon (at most one waits: a second deferral is dropped)."""
    await enqueue_in(session, DELIVER, {}, queue=QUEUE, queueing_lock=DELIVER, run_at=run_at)


async def _send_all(
    delivery: Delivery, claimed: list[attempts.Attempt]
) -> list[tuple[Any, Result, str | None]]:
    async def one(attempt: attempts.Attempt) -> tuple[Any, Result, str | None]:
        if attempt.outgoing is None:
            return attempt, NO_ADDRESS, None
        provider = delivery.provider_for(attempt.outgoing)
        result = await delivery.send(attempt.outgoing)
        return attempt, result, None if provider is None else provider.name

    return list(await asyncio.gather(*(one(a) for a in claimed)))


async def deliver_once(context: JobContext, settings: Settings) -> dict[str, int]:
    """One round: a batch of due notifications, then a batch of pending deliveries."""
    now = dt.datetime.now(dt.UTC)
    limit = settings.notification_batch
    shown = await in_transaction(context, lambda s: dispatch.dispatch_due(s, now=now, limit=limit))
    rules = policy(settings)
    claimed = await in_transaction(
        context,
        lambda s: attempts.claim(
            s, now=now, limit=limit, policy=rules, unsubscribe_url=settings.email_unsubscribe_url
        ),
    )
    results = await _send_all(context.additional_context[DELIVERY], claimed)
    done = dt.datetime.now(dt.UTC)
    counts = await in_transaction(
        context, lambda s: attempts.record(s, results=results, now=done, policy=rules)
    )
    return {"shown": shown.notifications, "claimed": len(claimed), **counts}


def register(app: procrastinate.App, settings: Settings) -> None:
    retry = backoff(settings)

    @app.task(name=campaign_sends.SCHEDULE_TASK, queue=QUEUE, retry=retry, pass_context=True)
    async def schedule_campaign_notifications(context: JobContext, campaign_id: int) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        report = await campaign_sends.schedule_campaign(
            lambda work: in_transaction(context, work), campaign_id=campaign_id, now=now, settings=settings
        )
        await in_transaction(context, lambda s: defer_delivery(s))
        log.info("campaign %s: %s scheduled, skipped %s", campaign_id, report.scheduled, dict(report.skipped))
        return {"scheduled": report.scheduled, "skipped": dict(report.skipped), "stopped": report.stopped}

    @app.task(name=sends.FAN_OUT_TASK, queue=QUEUE, retry=retry, pass_context=True)
    async def fan_out_notification_send(context: JobContext, send_id: int) -> int:
        now = dt.datetime.now(dt.UTC)
        written = await in_transaction(context, lambda s: sends.fan_out(s, send_id=send_id, now=now))
        await in_transaction(context, lambda s: defer_delivery(s))
        return written

    @app.task(name=DELIVER, queue=QUEUE, retry=retry, pass_context=True, queueing_lock=DELIVER)
    async def deliver_notifications(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
        total: dict[str, int] = {}
        while True:
            counts = await deliver_once(context, settings)
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
            # A full batch: more is waiting now. Otherwise wait for the next poll.
            if (
                counts["shown"] < settings.notification_batch
                and counts["claimed"] < settings.notification_batch
            ):
                break
            # While a backlog lasts, another loop waits for an idle worker (the queueing lock keeps it
            # to one waiting): every worker joins in, and the extra loops end with the backlog.
            await in_transaction(context, lambda s: defer_delivery(s))
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.notification_poll_s)
        await in_transaction(context, lambda s: defer_delivery(s, run_at=later))
        return total

    # The safety net: a loop whose next deferral was lost (its worker killed) starts again.
    schedule(app, deliver_notifications, settings.job_cron_deliver_notifications)
