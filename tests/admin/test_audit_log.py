"""auditLog: newest first, every filter, keyset pages, admins only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.merchants.support import ADMIN, gid, others
from tests.models import factories as f

AUDIT_LOG = """
query ($filter: AuditLogFilterInput, $first: Int, $after: String, $last: Int, $before: String) {
  auditLog(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges {
      node { action entityType entityId actorLabel actorRole before after ipAddress requestId createdAt }
    }
  }
}
"""
SET = """
mutation { updateSetting(input: {key: "log.me", value: 1}) { userErrors { code } } }
"""
T = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


async def _entries(db: AsyncSession) -> dict[str, int]:
    """Five entries an hour apart, oldest first; returns {"actor": the user id of the marketer}."""
    actor = await f.make_user(db, role="marketer")
    specs = [
        ("campaign.create", "campaign", 1, None),
        ("campaign.update", "campaign", 1, actor.id),
        ("merchant.update", "merchant", 1, actor.id),
        ("campaign.update", "campaign", 2, None),
        ("setting.update", "setting", 7, None),
    ]
    for hour, (action, entity, entity_id, user_id) in enumerate(specs):
        await f.make_audit_log_entry(
            db,
            action=action,
            entity_type=entity,
            entity_id=entity_id,
            actor_user_id=user_id,
            actor_label=f"user:{user_id}" if user_id else "system",
            before={"n": hour},
            after={"n": hour + 1},
            ip_address="10.0.0.1",
            created_at=T + dt.timedelta(hours=hour),
        )
    return {"actor": actor.id}


def _actions(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [e["node"]["action"] for e in result.data["auditLog"]["edges"]]


async def test_the_log_lists_newest_first_with_everything_recorded(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _entries(db)

    result = await gql(AUDIT_LOG, viewer=ADMIN)

    assert _actions(result) == [
        "setting.update",
        "campaign.update",
        "merchant.update",
        "campaign.update",
        "campaign.create",
    ]
    newest = result.data["auditLog"]["edges"][0]["node"]
    assert newest["before"] == {"n": 4} and newest["after"] == {"n": 5}
    assert (newest["entityId"], newest["ipAddress"], newest["actorLabel"]) == (7, "10.0.0.1", "system")
    assert result.data["auditLog"]["totalCount"] == 5


async def test_a_mutation_shows_up_in_the_log(gql) -> None:  # type: ignore[no-untyped-def]
    await gql(SET, viewer=ADMIN)

    result = await gql(AUDIT_LOG, {"filter": {"entityType": "setting"}}, viewer=ADMIN)

    (edge,) = result.data["auditLog"]["edges"]
    assert (edge["node"]["action"], edge["node"]["actorRole"], edge["node"]["requestId"]) == (
        "setting.create",
        "admin",
        "test",
    )


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"entityType": "campaign"}, ["campaign.update", "campaign.update", "campaign.create"]),
        ({"entityType": "campaign", "entityId": 1}, ["campaign.update", "campaign.create"]),
        ({"action": "campaign.update"}, ["campaign.update", "campaign.update"]),
        ({"actorUserId": "ACTOR"}, ["merchant.update", "campaign.update"]),
        (
            {"from": (T + dt.timedelta(hours=1)).isoformat()},
            ["setting.update", "campaign.update", "merchant.update", "campaign.update"],
        ),
        ({"to": (T + dt.timedelta(hours=1)).isoformat()}, ["campaign.create"]),
        (
            {"from": (T + dt.timedelta(hours=1)).isoformat(), "to": (T + dt.timedelta(hours=3)).isoformat()},
            ["merchant.update", "campaign.update"],
        ),
        ({"entityType": "flag"}, []),
    ],
    ids=["entity type", "entity", "action", "actor", "from (inclusive)", "to (exclusive)", "window", "none"],
)
async def test_filters(db: AsyncSession, gql, filter, expected) -> None:  # type: ignore[no-untyped-def]
    ids = await _entries(db)
    if filter.get("actorUserId") == "ACTOR":
        filter = {"actorUserId": gid("User", ids["actor"])}

    result = await gql(AUDIT_LOG, {"filter": filter}, viewer=ADMIN)

    assert _actions(result) == expected
    assert result.data["auditLog"]["totalCount"] == len(expected)


async def test_pages_forward_and_back_without_gaps(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _entries(db)
    # two entries at the same instant: the id breaks the tie
    await f.make_audit_log_entry(db, action="tie.later", created_at=T + dt.timedelta(hours=4))

    first = await gql(AUDIT_LOG, {"first": 2}, viewer=ADMIN)
    cursor = first.data["auditLog"]["pageInfo"]["endCursor"]
    second = await gql(AUDIT_LOG, {"first": 2, "after": cursor}, viewer=ADMIN)
    back = await gql(
        AUDIT_LOG, {"last": 2, "before": second.data["auditLog"]["pageInfo"]["startCursor"]}, viewer=ADMIN
    )

    assert _actions(first) == ["tie.later", "setting.update"]
    assert _actions(second) == ["campaign.update", "merchant.update"]
    assert _actions(back) == _actions(first)
    assert first.data["auditLog"]["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"filter": {"from": T.isoformat(), "to": T.isoformat()}}, "to"),
        ({"filter": {"actorUserId": gid("Merchant", 1)}}, "actorUserId"),
        ({"first": 101}, "first"),
    ],
    ids=["empty window", "not a user id", "page too large"],
)
async def test_bad_arguments_are_bad_user_input(gql, variables, field) -> None:  # type: ignore[no-untyped-def]
    result = await gql(AUDIT_LOG, variables, viewer=ADMIN)

    assert result.data == {"auditLog": None}
    assert [(e.extensions["code"], e.extensions.get("field")) for e in result.errors] == [
        ("BAD_USER_INPUT", field)
    ]


@pytest.mark.parametrize("viewer", others(Role.ADMIN), ids=lambda v: v.role.value)
async def test_only_admins_read_the_log(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    await _entries(db)

    result = await gql(AUDIT_LOG, viewer=viewer)

    assert result.data == {"auditLog": None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
