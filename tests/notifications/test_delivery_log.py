"""The delivery log: admins list a send's or a campaign's deliveries, newest first, filtered by state;
no one else may, and a filter that is not an id of its type is refused."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.models import factories as f
from tests.models import notification_factories as n
from tests.support import codes
from tests.users.support import gid, nodes

LOG = """
query ($filter: DeliveryFilterInput) {
  notificationDeliveries(filter: $filter, first: 10) {
    totalCount edges { node { channel status attempts lastError userId notificationId } }
  }
}
"""
ADMIN = Viewer(role=Role.ADMIN, user_id=None)


async def test_admins_read_a_sends_deliveries_by_state(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    person = await f.make_user(db, role="customer")
    send, other = await n.make_notification_send(db), await n.make_notification_send(db)
    mine = await n.make_notification(db, user_id=person.id, send_id=send.id)
    await n.make_notification_delivery(db, notification_id=mine.id, channel="in_app", status="sent")
    await n.make_notification_delivery(
        db,
        notification_id=mine.id,
        channel="push",
        status="failed",
        attempts=8,
        last_error="PROVIDER_UNAVAILABLE",
    )
    elsewhere = await n.make_notification(db, send_id=other.id)
    await n.make_notification_delivery(db, notification_id=elsewhere.id)

    everything = await gql(LOG, {"filter": {"sendId": gid("NotificationSend", send.id)}}, viewer=ADMIN)
    failed = await gql(
        LOG, {"filter": {"sendId": gid("NotificationSend", send.id), "status": "FAILED"}}, viewer=ADMIN
    )

    assert everything.data["notificationDeliveries"]["totalCount"] == 2
    (row,) = nodes(failed.data["notificationDeliveries"])
    assert row == {
        "channel": "PUSH", "status": "FAILED", "attempts": 8, "lastError": "PROVIDER_UNAVAILABLE",
        "userId": gid("User", person.id), "notificationId": gid("Notification", mine.id),
    }  # fmt: skip


async def test_only_admins_read_the_log_and_filters_are_checked(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.MARKETER, Role.ANALYST, Role.CUSTOMER, Role.SERVICE):
        assert codes(await gql(LOG, viewer=Viewer(role=role, user_id=1))) == {"FORBIDDEN"}, role
    wrong = await gql(LOG, {"filter": {"campaignId": gid("User", 1)}}, viewer=ADMIN)
    assert codes(wrong) == {"BAD_USER_INPUT"}
