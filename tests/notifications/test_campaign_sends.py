"""Starting a push campaign: its schedule job exists only if the start commits; a real worker writes one
notification per person of the segment (not the erased, not who opted out), delivers them to the
centre and sends the pushes through the log provider; pausing cancels, resuming brings back, and no
start, retry or crash makes a second notification for anyone."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import func, select
from strawberry import relay

from core.settings import Settings
from core.viewer import Role, Viewer
from models.notifications import Notification, NotificationDelivery
from resolvers.notifications import campaign_sends
from tests.jobs.support import fetch, job_settings, running_worker, wait_until
from tests.models import factories as f
from tests.models import notification_factories as n

MARKETER = Viewer(role=Role.MARKETER)
START = "mutation ($id: ID!) { startCampaign(input: {id: $id}) { campaign { status } userErrors { code } } }"
PAUSE = "mutation ($id: ID!) { pauseCampaign(input: {id: $id}) { campaign { status } userErrors { code } } }"
CENTRE = "{ myNotifications(first: 5) { edges { node { title isRead data } } } unreadNotificationCount }"
COUNTS = """
query ($id: ID!) { campaign(id: $id) { notificationCounts { scheduled shown cancelled
  deliveries { channel status count } } } }
"""
NOW = dt.datetime.now(dt.UTC)
_segments = itertools.count(1)


@dataclass(frozen=True)
class Audience:
    campaign: int
    members: list[int]  # in the segment, reachable
    with_device: int
    outsider: int
    erased: int
    opted_out: int


async def _audience(live, *, at_once: bool = True, ends_at: dt.datetime | None = None) -> Audience:  # type: ignore[no-untyped-def]
    segment = f"vip-{next(_segments)}"
    async with live.sessionmaker() as session, session.begin():
        members = [await f.make_user(session, role="customer") for _ in range(3)]
        outsider = await f.make_user(session, role="customer")
        erased = await f.make_user(session, role="customer", email=None, deleted_at=NOW)
        opted_out = await f.make_user(session, role="customer")
        for user in (*members, erased, opted_out):
            await n.make_segment_member(session, segment=segment, user_id=user.id)
        for channel in ("in_app", "push"):
            await n.make_notification_preference(
                session, user_id=opted_out.id, channel=channel, category="offers"
            )
        await n.make_device(session, user_id=members[0].id, platform="android")
        campaign = await f.make_campaign(
            session, name="Double points", type="push_notification", target_segment=segment,
            send_at_once=at_once,
            starts_at=NOW - dt.timedelta(hours=1), ends_at=ends_at or NOW + dt.timedelta(days=7),
        )  # fmt: skip
    return Audience(campaign.id, [m.id for m in members], members[0].id, outsider.id, erased.id, opted_out.id)


def _gid(campaign: int) -> str:
    return relay.to_base64("Campaign", campaign)


async def _jobs(url: str) -> int:
    rows = await fetch(
        url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = $1", campaign_sends.SCHEDULE_TASK
    )
    return int(rows[0][0])


async def _notified(live, campaign: int) -> dict[int, tuple[bool, bool]]:  # type: ignore[no-untyped-def]
    """user -> (delivered, cancelled)"""
    async with live.sessionmaker() as session:
        rows = await session.execute(
            select(Notification.user_id, Notification.sent_at, Notification.cancelled_at).where(
                Notification.campaign_id == campaign
            )
        )
        return {u: (sent is not None, cancelled is not None) for u, sent, cancelled in rows}


def _worker(settings: Settings, url: str) -> Settings:
    return job_settings(settings, url, notification_poll_s=0.2)


async def test_a_started_push_campaign_reaches_its_segment_once(live, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    audience = await _audience(live)
    refused = await _audience(live, ends_at=NOW - dt.timedelta(minutes=1))

    # a start refused (the campaign has ended) defers nothing; a start that commits defers its job
    failed = await live.execute(START, {"id": _gid(refused.campaign)}, viewer=MARKETER)
    assert failed.data["startCampaign"]["userErrors"] == [{"code": "OUT_OF_RANGE"}]
    assert await _jobs(live.url) == 0
    started = await live.execute(START, {"id": _gid(audience.campaign)}, viewer=MARKETER)
    assert started.data["startCampaign"] == {"campaign": {"status": "RUNNING"}, "userErrors": []}
    assert await _jobs(live.url) == 1

    # when a worker runs
    async with running_worker(_worker(settings, live.url)):

        async def delivered() -> bool:
            notified = await _notified(live, audience.campaign)
            return len(notified) == 3 and all(sent for sent, _ in notified.values())

        await wait_until(delivered, what="the segment's notifications were never delivered")

        async def pushed() -> bool:
            async with live.sessionmaker() as session:
                push = await session.scalar(
                    select(NotificationDelivery.status).where(NotificationDelivery.device_id.is_not(None))
                )
            return push == "sent"

        await wait_until(pushed, what="the push was never sent")

    # then exactly the reachable members were notified, each once
    assert set(await _notified(live, audience.campaign)) == set(audience.members)
    centre = await live.execute(CENTRE, viewer=Viewer(role=Role.CUSTOMER, user_id=audience.with_device))
    assert centre.data["unreadNotificationCount"] == 1
    (edge,) = centre.data["myNotifications"]["edges"]
    assert edge["node"]["title"] == "Double points"
    assert edge["node"]["data"]["campaignId"] == _gid(audience.campaign)
    counts = await live.execute(COUNTS, {"id": _gid(audience.campaign)}, viewer=MARKETER)
    stats = counts.data["campaign"]["notificationCounts"]
    assert (stats["scheduled"], stats["shown"], stats["cancelled"]) == (0, 3, 0)
    assert {(d["channel"], d["status"]): d["count"] for d in stats["deliveries"]} == {
        ("IN_APP", "SENT"): 3, ("PUSH", "SENT"): 1, ("PUSH", "SKIPPED"): 2,
    }  # fmt: skip


async def test_duplicate_starts_and_retries_write_no_second_notification(live, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    audience = await _audience(live, at_once=False)
    await live.execute(START, {"id": _gid(audience.campaign)}, viewer=MARKETER)
    worker = _worker(settings, live.url)

    async def transaction(work):  # type: ignore[no-untyped-def]
        async with live.sessionmaker() as session, session.begin():
            return await work(session)

    # the job's work run three times over (a retried job, a crash after the first batch, a second start)
    reports = [
        await campaign_sends.schedule_campaign(
            transaction, campaign_id=audience.campaign, now=NOW, settings=worker
        )
        for _ in range(3)
    ]

    assert [r.scheduled for r in reports] == [3, 0, 0]
    assert reports[0].skipped == {"OPTED_OUT": 1}
    assert reports[1].skipped == {"OPTED_OUT": 1, "ALREADY_SCHEDULED": 3}
    async with live.sessionmaker() as session:
        per_user = await session.execute(
            select(Notification.user_id, func.count())
            .where(Notification.campaign_id == audience.campaign)
            .group_by(Notification.user_id)
        )
        assert {u: c for u, c in per_user} == dict.fromkeys(audience.members, 1)


async def test_pausing_cancels_what_is_undelivered_and_resuming_brings_it_back(
    live, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    # due at each one's best hour: none is delivered yet
    audience = await _audience(live, at_once=False)
    await live.execute(START, {"id": _gid(audience.campaign)}, viewer=MARKETER)

    async def transaction(work):  # type: ignore[no-untyped-def]
        async with live.sessionmaker() as session, session.begin():
            return await work(session)

    worker = _worker(settings, live.url)
    await campaign_sends.schedule_campaign(
        transaction, campaign_id=audience.campaign, now=NOW, settings=worker
    )

    paused = await live.execute(PAUSE, {"id": _gid(audience.campaign)}, viewer=MARKETER)
    after_pause = await _notified(live, audience.campaign)
    resumed = await live.execute(START, {"id": _gid(audience.campaign)}, viewer=MARKETER)
    again = await campaign_sends.schedule_campaign(
        transaction, campaign_id=audience.campaign, now=NOW, settings=worker
    )

    assert paused.data["pauseCampaign"]["userErrors"] == []
    assert after_pause == dict.fromkeys(audience.members, (False, True))
    assert resumed.data["startCampaign"]["userErrors"] == []
    assert again.scheduled == 3
    assert await _notified(live, audience.campaign) == dict.fromkeys(audience.members, (False, False))
