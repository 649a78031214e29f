"""Staff sends: who may send, what is refused, the job deferred with the send, the audience written once
whatever retries, and cancelling what is not delivered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.notifications import Notification
from resolvers.notifications import sends
from tests.models import factories as f
from tests.support import codes
from tests.users.support import gid

SEND = """
mutation ($input: SendNotificationInput!) {
  sendNotification(input: $input) { send { id status channels scheduledFor } userErrors { field code } }
}
"""
CANCEL = (
    "mutation ($id: ID!) { cancelNotificationSend(input: {id: $id}) { send { status } userErrors { code } } }"
)
MARKETER = Viewer(role=Role.MARKETER, user_id=None)
NOW = dt.datetime.now(dt.UTC)
GOLD = {"title": "Gold week", "body": "Double points", "audience": {"tier": "GOLD"}, "channels": ["PUSH"]}


async def _refused(gql, send: dict[str, object]) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    result = await gql(SEND, {"input": send}, viewer=MARKETER)
    return sorted((e["field"], e["code"]) for e in result.data["sendNotification"]["userErrors"])


async def test_only_marketers_and_admins_send(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.CUSTOMER, Role.ANALYST, Role.MERCHANT, Role.SERVICE):
        result = await gql(SEND, {"input": GOLD}, viewer=Viewer(role=role, user_id=1, merchant_id=1))
        assert codes(result) == {"FORBIDDEN"}, role


async def test_bad_sends_are_refused_whole(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    two_audiences = {**GOLD, "audience": {"tier": "GOLD", "segment": "vip"}}
    none = {**GOLD, "audience": {}}
    blank = {**GOLD, "title": "  ", "channels": []}
    past = {**GOLD, "scheduledFor": (NOW - dt.timedelta(days=1)).isoformat()}
    not_users = {**GOLD, "audience": {"userIds": [gid("Campaign", 1)]}}
    webhook = {**GOLD, "channels": ["WEBHOOK"]}

    assert await _refused(gql, two_audiences) == [("audience", "INVALID")]
    assert await _refused(gql, none) == [("audience", "INVALID")]
    assert await _refused(gql, blank) == [("title", "REQUIRED")]
    assert await _refused(gql, past) == [("scheduledFor", "OUT_OF_RANGE")]
    assert await _refused(gql, not_users) == [("audience.userIds", "NOT_FOUND")]
    assert await _refused(gql, webhook) == [("channels", "INVALID")]
    assert await db.scalar(text("SELECT count(*) FROM notification_sends")) == 0
    assert await db.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0


async def test_a_send_defers_its_fan_out_and_reaches_its_tier_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    gold = [await f.make_user(db, role="customer", loyalty_tier="gold") for _ in range(2)]
    await f.make_user(db, role="customer", loyalty_tier="silver")
    await f.make_user(db, role="marketer", loyalty_tier="gold")

    result = await gql(SEND, {"input": GOLD}, viewer=MARKETER)
    send = result.data["sendNotification"]["send"]
    jobs = (await db.execute(text("SELECT task_name, args FROM procrastinate_jobs"))).all()
    send_id = int(jobs[0].args["send_id"])
    written = [await sends.fan_out(db, send_id=send_id, now=NOW) for _ in range(2)]

    assert send["status"] == "SCHEDULED" and send["channels"] == ["IN_APP", "PUSH"]
    assert [j.task_name for j in jobs] == [sends.FAN_OUT_TASK]
    assert written == [2, 0]
    people = (await db.scalars(select(Notification.user_id).where(Notification.send_id == send_id))).all()
    assert sorted(people) == sorted(u.id for u in gold)


async def test_cancelling_a_send_cancels_what_is_undelivered(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_user(db, role="customer", loyalty_tier="gold")
    later = {**GOLD, "scheduledFor": (NOW + dt.timedelta(hours=2)).isoformat()}
    send = (await gql(SEND, {"input": later}, viewer=MARKETER)).data["sendNotification"]["send"]
    send_id = int((await db.execute(text("SELECT args FROM procrastinate_jobs"))).scalar_one()["send_id"])
    await sends.fan_out(db, send_id=send_id, now=NOW)

    cancelled = await gql(CANCEL, {"id": send["id"]}, viewer=MARKETER)

    assert cancelled.data["cancelNotificationSend"] == {"send": {"status": "CANCELLED"}, "userErrors": []}
    pending = await db.scalar(
        select(func.count()).where(Notification.send_id == send_id, Notification.cancelled_at.is_(None))
    )
    assert pending == 0
