"""Delivering due notifications and recording what providers answered: channels per preference and
device, leases, retries with backoff, the final failed state, and dead device tokens deactivated."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery.message import Code, Result
from models.notifications import Device, Notification, NotificationDelivery
from resolvers.notifications import attempts, dispatch
from tests.models import factories as f
from tests.models import notification_factories as n

NOW = dt.datetime.now(dt.UTC)
POLICY = attempts.Policy(max_attempts=3, retry_base_s=10, retry_max_s=60, lease_s=120)


async def _push_campaign_notification(db: AsyncSession, **user: object) -> tuple[Notification, Device]:
    person = await f.make_user(db, role="customer", **user)
    device = await n.make_device(db, user_id=person.id, platform="android")
    campaign = await f.make_campaign(db, type="push_notification")
    notification = await n.make_notification(
        db, user_id=person.id, campaign_id=campaign.id, deliver_at=NOW - dt.timedelta(minutes=1)
    )
    return notification, device


async def _deliveries(db: AsyncSession, notification_id: int) -> dict[str, tuple[str, str | None]]:
    rows = await db.execute(
        select(
            NotificationDelivery.channel, NotificationDelivery.status, NotificationDelivery.last_error
        ).where(NotificationDelivery.notification_id == notification_id)
    )
    return {channel: (status, error) for channel, status, error in rows}


async def test_a_due_notification_is_shown_and_gets_a_delivery_per_channel(db: AsyncSession) -> None:
    due, _device = await _push_campaign_notification(db)
    later = await n.make_notification(db, user_id=due.user_id, deliver_at=NOW + dt.timedelta(hours=1))

    done = await dispatch.dispatch_due(db, now=NOW, limit=10)

    assert (done.notifications, done.deliveries) == (1, 1)
    await db.refresh(due)
    await db.refresh(later)
    assert due.sent_at is not None and later.sent_at is None
    assert await _deliveries(db, due.id) == {"in_app": ("sent", None), "push": ("pending", None)}


async def test_a_channel_turned_off_is_skipped_but_account_messages_always_go(db: AsyncSession) -> None:
    offer, _ = await _push_campaign_notification(db)
    await n.make_notification_preference(db, user_id=offer.user_id, channel="push", category="offers")
    send = await n.make_notification_send(db, channels=["in_app", "push"])
    account = await n.make_notification(
        db,
        user_id=offer.user_id,
        send_id=send.id,
        category="account",
        deliver_at=NOW - dt.timedelta(minutes=1),
    )
    await n.make_notification_preference(db, user_id=offer.user_id, channel="push", category="account")

    await dispatch.dispatch_due(db, now=NOW, limit=10)

    assert (await _deliveries(db, offer.id))["push"] == ("skipped", "OPTED_OUT")
    assert (await _deliveries(db, account.id))["push"] == ("pending", None)


async def test_retries_wait_then_fail_and_a_dead_token_deactivates_its_device(db: AsyncSession) -> None:
    flaky, _ = await _push_campaign_notification(db)
    dead, dead_device = await _push_campaign_notification(db)
    await dispatch.dispatch_due(db, now=NOW, limit=10)
    unavailable = Result.retry(Code.PROVIDER_UNAVAILABLE)
    gone = Result.rejected(Code.INVALID_RECIPIENT, reason="UNREGISTERED")

    # the first attempt: the provider is down for one, the other's token is dead
    claimed = await attempts.claim(db, now=NOW, limit=10, policy=POLICY, unsubscribe_url=None)
    by_notification = {a.outgoing.title: a for a in claimed if a.outgoing is not None}
    assert len(claimed) == 2 and all(a.attempts == 1 for a in claimed)
    # a leased delivery is not claimed again before its lease is over
    assert await attempts.claim(db, now=NOW, limit=10, policy=POLICY, unsubscribe_url=None) == []
    results = [(by_notification[flaky.title], unavailable, "fcm"), (by_notification[dead.title], gone, "fcm")]
    counts = await attempts.record(db, results=results, now=NOW, policy=POLICY)

    assert counts == {"sent": 0, "retry": 1, "failed": 0, "rejected": 1}
    assert (await _deliveries(db, dead.id))["push"] == ("rejected", "INVALID_RECIPIENT")
    await db.refresh(dead_device)
    assert (dead_device.active, dead_device.deactivated_reason) == (False, "invalid_token")
    waiting = await db.scalar(
        select(NotificationDelivery.next_attempt_at).where(
            NotificationDelivery.notification_id == flaky.id, NotificationDelivery.channel == "push"
        )
    )
    # between half and all of the base wait (jitter)
    assert NOW + dt.timedelta(seconds=5) <= waiting <= NOW + dt.timedelta(seconds=10)

    # the following attempts, each once its wait is over, fail too: after the third it is kept as failed
    clock = waiting
    for _ in range(POLICY.max_attempts - 1):
        (again,) = await attempts.claim(db, now=clock, limit=10, policy=POLICY, unsubscribe_url=None)
        await attempts.record(db, results=[(again, unavailable, "fcm")], now=clock, policy=POLICY)
        clock += dt.timedelta(seconds=POLICY.retry_max_s + 1)
    assert (await _deliveries(db, flaky.id))["push"] == ("failed", "PROVIDER_UNAVAILABLE")
    assert await attempts.claim(db, now=clock, limit=10, policy=POLICY, unsubscribe_url=None) == []
