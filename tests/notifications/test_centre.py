"""The notification centre: what a person sees (their own, delivered, not cancelled), the unread
count, and marking read, opened and archived — own rows only, refused as a whole otherwise."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.notifications import Notification
from tests.models import factories as f
from tests.models import notification_factories as n
from tests.support import codes
from tests.users.support import SERVICE, customer, gid, nodes

NOW = dt.datetime.now(dt.UTC)
CENTRE = """
query ($filter: NotificationFilterInput) {
  myNotifications(filter: $filter, first: 10) { totalCount edges { node { id title isRead } } }
  unreadNotificationCount
}
"""
READ = """
mutation ($input: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $input) { changed unreadCount userErrors { field code } }
}
"""
ARCHIVE = """
mutation ($ids: [ID!]!) {
  archiveNotifications(input: {ids: $ids}) { changed unreadCount userErrors { field code } }
}
"""
OPEN = """
mutation ($id: ID!) {
  openNotification(input: {id: $id}) { notification { id isRead openedAt } userErrors { field code } }
}
"""


async def _centre(db: AsyncSession) -> tuple[int, int, dict[str, Notification]]:
    """A person with three delivered notifications (one read), one due later, one cancelled; and
    someone else with one."""
    ann, bob = await f.make_user(db), await f.make_user(db)
    sent = {"deliver_at": NOW, "sent_at": NOW}
    rows = {
        "old": await n.make_notification(db, user_id=ann.id, title="old", **sent, read_at=NOW),
        "new": await n.make_notification(db, user_id=ann.id, title="new", **sent),
        "newer": await n.make_notification(db, user_id=ann.id, title="newer", **sent),
        "later": await n.make_notification(db, user_id=ann.id, title="later", deliver_at=NOW),
        "cancelled": await n.make_notification(
            db, user_id=ann.id, title="cancelled", cancelled_at=NOW, **sent
        ),
        "bobs": await n.make_notification(db, user_id=bob.id, title="bobs", **sent),
    }
    return ann.id, bob.id, rows


def _titles(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [node["title"] for node in nodes(result.data["myNotifications"])]


async def test_a_person_sees_their_delivered_notifications_newest_first(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, _rows = await _centre(db)

    everything = await gql(CENTRE, viewer=customer(ann))
    unread = await gql(CENTRE, {"filter": {"unreadOnly": True}}, viewer=customer(ann))

    # not the one due later, not the cancelled one, not someone else's
    assert everything.errors is None, everything.errors
    assert _titles(everything) == ["newer", "new", "old"]
    assert everything.data["myNotifications"]["totalCount"] == 3
    assert everything.data["unreadNotificationCount"] == 2
    assert _titles(unread) == ["newer", "new"]


async def test_marking_read_by_id_and_all(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, rows = await _centre(db)
    me = customer(ann)

    one = await gql(READ, {"input": {"ids": [gid("Notification", rows["new"].id)]}}, viewer=me)
    again = await gql(READ, {"input": {"ids": [gid("Notification", rows["new"].id)]}}, viewer=me)
    rest = await gql(READ, {"input": {"all": True}}, viewer=me)

    assert one.data["markNotificationsRead"] == {"changed": 1, "unreadCount": 1, "userErrors": []}
    # repeating it changes nothing
    assert again.data["markNotificationsRead"] == {"changed": 0, "unreadCount": 1, "userErrors": []}
    assert rest.data["markNotificationsRead"] == {"changed": 1, "unreadCount": 0, "userErrors": []}
    # the cancelled one was not touched
    assert (
        await db.scalar(select(Notification.read_at).where(Notification.id == rows["cancelled"].id)) is None
    )


async def test_someone_elses_notification_is_not_found_and_nothing_is_written(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, rows = await _centre(db)
    ids = [gid("Notification", rows["new"].id), gid("Notification", rows["bobs"].id)]

    result = await gql(READ, {"input": {"ids": ids}}, viewer=customer(ann))
    archived = await gql(ARCHIVE, {"ids": [gid("Notification", rows["bobs"].id)]}, viewer=customer(ann))

    assert result.data["markNotificationsRead"]["userErrors"] == [{"field": "ids", "code": "NOT_FOUND"}]
    assert archived.data["archiveNotifications"]["userErrors"] == [{"field": "ids", "code": "NOT_FOUND"}]
    read_at = await db.scalars(
        select(Notification.read_at).where(Notification.id.in_([rows["new"].id, rows["bobs"].id]))
    )
    assert list(read_at.all()) == [None, None]


async def test_bad_mark_read_inputs_are_user_errors(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, _rows = await _centre(db)
    me = customer(ann)

    neither = await gql(READ, {"input": {}}, viewer=me)
    both = await gql(READ, {"input": {"all": True, "ids": []}}, viewer=me)
    wrong_type = await gql(READ, {"input": {"ids": [gid("Campaign", 1)]}}, viewer=me)
    too_many = await gql(
        READ, {"input": {"ids": [gid("Notification", i + 1) for i in range(101)]}}, viewer=me
    )

    assert neither.data["markNotificationsRead"]["userErrors"] == [{"field": "ids", "code": "INVALID"}]
    assert both.data["markNotificationsRead"]["userErrors"] == [{"field": "ids", "code": "INVALID"}]
    assert wrong_type.data["markNotificationsRead"]["userErrors"] == [{"field": "ids", "code": "NOT_FOUND"}]
    assert too_many.data["markNotificationsRead"]["userErrors"] == [{"field": "ids", "code": "OUT_OF_RANGE"}]


async def test_archived_notifications_leave_the_centre_and_its_count(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, rows = await _centre(db)
    me = customer(ann)

    archived = await gql(ARCHIVE, {"ids": [gid("Notification", rows["newer"].id)]}, viewer=me)
    shown = await gql(CENTRE, viewer=me)
    with_archived = await gql(CENTRE, {"filter": {"includeArchived": True}}, viewer=me)

    assert archived.data["archiveNotifications"] == {"changed": 1, "unreadCount": 1, "userErrors": []}
    assert _titles(shown) == ["new", "old"]
    assert _titles(with_archived) == ["newer", "new", "old"]


async def test_opening_a_notification_reads_it_and_counts_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, _bob, rows = await _centre(db)
    me = customer(ann)
    notification = gid("Notification", rows["new"].id)

    first = await gql(OPEN, {"id": notification}, viewer=me)
    second = await gql(OPEN, {"id": notification}, viewer=me)
    not_mine = await gql(OPEN, {"id": gid("Notification", rows["bobs"].id)}, viewer=me)

    opened = first.data["openNotification"]["notification"]
    assert opened["isRead"] is True and opened["openedAt"] is not None
    # the first opening is kept (the campaign counts one open per notification)
    assert second.data["openNotification"]["notification"]["openedAt"] == opened["openedAt"]
    assert not_mine.data["openNotification"]["userErrors"] == [{"field": "id", "code": "NOT_FOUND"}]


async def test_a_key_with_no_person_has_no_centre(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql("{ unreadNotificationCount }", viewer=SERVICE)
    merchant_key = await gql("{ unreadNotificationCount }", viewer=Viewer(role=Role.MERCHANT, merchant_id=1))

    assert codes(result) == {"FORBIDDEN"}
    assert codes(merchant_key) == {"FORBIDDEN"}
