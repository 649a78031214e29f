"""A flag's audit log: newest first, keyset pages per flag, admin-only IP addresses, node ids."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Viewer
from models.flags import FeatureFlag
from resolvers.pagination import encode_cursor
from tests.flags.support import ADMIN, MARKETER, NOT_STAFF, without_seeded_flags
from tests.models import factories as f
from tests.support import codes

AUDIT = """
query ($key: String!, $first: Int, $after: String, $last: Int, $before: String) {
  flag(key: $key) {
    auditLog(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { id action changeReason oldValue newValue changedBy requestId createdAt } }
    }
  }
}
"""
IP = """
query ($key: String!) { flag(key: $key) { key auditLog(first: 1) { edges { node { action ipAddress } } } } }
"""
NESTED = """
query {
  flags(first: 10) {
    edges { node { key auditLog(first: 2) { totalCount edges { node { changeReason } } } } }
  }
}
"""
NODE = "query ($id: ID!) { node(id: $id) { id ... on FlagAuditEntry { flagKey action } } }"


async def _flag_with_history(db: AsyncSession, key: str, changes: int) -> FeatureFlag:
    """A flag with `changes` audit entries an hour apart; the reason of entry i is "<key> i"."""
    flag = await f.make_feature_flag(db, key=key)
    for i in range(changes):
        await f.make_feature_flag_audit_entry(
            db,
            flag_id=flag.id,
            flag_key=key,
            action="update",
            change_reason=f"{key} {i}",
            old_value={"enabled": False},
            new_value={"enabled": True},
            created_at=f.T0 + dt.timedelta(hours=i),
        )
    return flag


def _reasons(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.errors is None, result.errors
    return [e["node"]["changeReason"] for e in result.data["flag"]["auditLog"]["edges"]]


async def test_the_audit_log_pages_newest_first(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given five changes to a flag
    await _flag_with_history(db, "audited", 5)

    # when paging two at a time
    first = await gql(AUDIT, {"key": "audited", "first": 2}, viewer=ADMIN)
    log = first.data["flag"]["auditLog"]
    second = await gql(
        AUDIT, {"key": "audited", "first": 2, "after": log["pageInfo"]["endCursor"]}, viewer=ADMIN
    )
    end = second.data["flag"]["auditLog"]["pageInfo"]["endCursor"]
    third = await gql(AUDIT, {"key": "audited", "first": 2, "after": end}, viewer=ADMIN)

    # then the newest come first and the pages continue without gaps
    assert _reasons(first) == ["audited 4", "audited 3"]
    assert _reasons(second) == ["audited 2", "audited 1"]
    assert _reasons(third) == ["audited 0"]
    assert log["totalCount"] == 5
    assert log["pageInfo"]["hasNextPage"] is True and log["pageInfo"]["hasPreviousPage"] is False
    assert third.data["flag"]["auditLog"]["pageInfo"]["hasNextPage"] is False
    node = log["edges"][0]["node"]
    assert node["action"] == "UPDATE"
    assert (node["oldValue"], node["newValue"]) == ({"enabled": False}, {"enabled": True})


async def test_the_audit_log_pages_backwards(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _flag_with_history(db, "audited", 4)

    oldest = await gql(AUDIT, {"key": "audited", "last": 2}, viewer=ADMIN)
    start = oldest.data["flag"]["auditLog"]["pageInfo"]["startCursor"]
    newer = await gql(AUDIT, {"key": "audited", "last": 2, "before": start}, viewer=ADMIN)

    assert _reasons(oldest) == ["audited 1", "audited 0"]
    assert oldest.data["flag"]["auditLog"]["pageInfo"]["hasPreviousPage"] is True
    assert _reasons(newer) == ["audited 3", "audited 2"]
    assert newer.data["flag"]["auditLog"]["pageInfo"]["hasPreviousPage"] is False


async def test_entries_at_the_same_instant_are_ordered_by_id(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="busy")
    for i in range(3):
        await f.make_feature_flag_audit_entry(
            db, flag_id=flag.id, flag_key="busy", change_reason=f"r{i}", created_at=f.T0
        )

    first = await gql(AUDIT, {"key": "busy", "first": 2}, viewer=ADMIN)
    after = first.data["flag"]["auditLog"]["pageInfo"]["endCursor"]
    rest = await gql(AUDIT, {"key": "busy", "first": 2, "after": after}, viewer=ADMIN)

    assert _reasons(first) == ["r2", "r1"]
    assert _reasons(rest) == ["r0"]


async def test_each_flag_of_a_list_gets_its_own_page(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three flags with 3, 1 and 0 changes
    await without_seeded_flags(db)
    await _flag_with_history(db, "a_flag", 3)
    await _flag_with_history(db, "b_flag", 1)
    await _flag_with_history(db, "c_flag", 0)

    # when the list asks for the two newest changes of each
    result = await gql(NESTED, viewer=ADMIN)

    # then the limit applies per flag, not to the whole statement
    assert result.errors is None, result.errors
    logs = {e["node"]["key"]: e["node"]["auditLog"] for e in result.data["flags"]["edges"]}
    assert [n["node"]["changeReason"] for n in logs["a_flag"]["edges"]] == ["a_flag 2", "a_flag 1"]
    assert [n["node"]["changeReason"] for n in logs["b_flag"]["edges"]] == ["b_flag 0"]
    assert logs["c_flag"]["edges"] == []
    assert [logs[k]["totalCount"] for k in ("a_flag", "b_flag", "c_flag")] == [3, 1, 0]


async def test_only_admins_see_ip_addresses(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="watched")
    await f.make_feature_flag_audit_entry(db, flag_id=flag.id, flag_key="watched", ip_address="10.1.2.3")

    admin = await gql(IP, {"key": "watched"}, viewer=ADMIN)
    marketer = await gql(IP, {"key": "watched"}, viewer=MARKETER)

    assert admin.errors is None, admin.errors
    assert admin.data["flag"]["auditLog"]["edges"][0]["node"] == {"action": "CREATE", "ipAddress": "10.1.2.3"}
    # the marketer gets the entry with the address nulled, and a FORBIDDEN error for that field only
    assert codes(marketer) == {"FORBIDDEN"}
    assert marketer.data["flag"]["auditLog"]["edges"][0]["node"] == {"action": "CREATE", "ipAddress": None}


async def test_a_cursor_of_another_list_is_bad_input(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _flag_with_history(db, "audited", 1)
    foreign = await gql(AUDIT, {"key": "audited", "after": "bm90LWEtY3Vyc29y"}, viewer=ADMIN)
    # a cursor of the flag list holds a key where an audit cursor holds a time
    key_cursor = await gql(AUDIT, {"key": "audited", "after": encode_cursor("audited", 1)}, viewer=ADMIN)

    assert codes(foreign) == {"BAD_USER_INPUT"}
    assert codes(key_cursor) == {"BAD_USER_INPUT"}


async def test_audit_entries_by_node_id(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    entry = await f.make_feature_flag_audit_entry(db, action="toggle")
    gid = relay.to_base64("FlagAuditEntry", entry.id)

    found = await gql(NODE, {"id": gid}, viewer=ADMIN)

    assert found.data["node"] == {"id": gid, "flagKey": entry.flag_key, "action": "TOGGLE"}


@pytest.mark.parametrize("viewer", NOT_STAFF, ids=lambda v: v.role.value)
async def test_audit_entries_are_staff_only(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    entry = await f.make_feature_flag_audit_entry(db)
    result = await gql(NODE, {"id": relay.to_base64("FlagAuditEntry", entry.id)}, viewer=viewer)
    assert "FORBIDDEN" in codes(result)
