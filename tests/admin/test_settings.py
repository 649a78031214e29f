"""updateSetting: an upsert by key, audited with before and after, validated, admins only."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry, Setting
from tests.merchants.support import ADMIN, count, errors_of, others
from tests.models import factories as f

UPDATE = """
mutation ($input: UpdateSettingInput!) {
  updateSetting(input: $input) { setting { key value description updatedBy } userErrors { field code } }
}
"""


async def test_a_new_key_is_created_and_audited(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {
        "input": {"key": "loyalty.expiry_days", "value": 180, "description": "Days without activity."}
    }

    result = await gql(UPDATE, variables, viewer=ADMIN)

    assert result.data["updateSetting"] == {
        "setting": {
            "key": "loyalty.expiry_days",
            "value": 180,
            "description": "Days without activity.",
            "updatedBy": "admin",
        },
        "userErrors": [],
    }
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.action, audit.entity_type, audit.before) == ("setting.create", "setting", None)
    assert audit.after["value"] == 180


async def test_a_change_keeps_the_description_and_records_before_and_after(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    admin = await f.make_user(db, role="admin")
    row = await f.make_setting(
        db, key="notifications.quiet_hours", value={"start": "21:00"}, description="Night"
    )
    variables = {"input": {"key": row.key, "value": {"start": "22:00", "end": "07:00"}}}

    result = await gql(UPDATE, variables, viewer=Viewer(role=Role.ADMIN, user_id=admin.id))

    setting = result.data["updateSetting"]["setting"]
    assert setting["value"] == {"start": "22:00", "end": "07:00"}
    assert (setting["description"], setting["updatedBy"]) == ("Night", f"user:{admin.id}")
    audit = (await db.scalars(select(AuditLogEntry))).one()
    assert (audit.action, audit.entity_id, audit.actor_user_id) == ("setting.update", row.id, admin.id)
    assert (audit.before["value"], audit.after["value"]) == (
        {"start": "21:00"},
        {"start": "22:00", "end": "07:00"},
    )
    assert await count(db, Setting) == 1


async def test_saving_the_same_value_writes_no_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    row = await f.make_setting(db, value=1)

    unchanged = await gql(UPDATE, {"input": {"key": row.key, "value": 1}}, viewer=ADMIN)
    # true is not 1 for a setting, though it is in Python
    changed = await gql(UPDATE, {"input": {"key": row.key, "value": True}}, viewer=ADMIN)

    assert unchanged.data["updateSetting"]["setting"]["value"] == 1
    assert changed.data["updateSetting"]["setting"]["value"] is True
    assert await count(db, AuditLogEntry) == 1


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"key": ""}, "key", "REQUIRED"),
        ({"key": "Has.Upper"}, "key", "INVALID"),
        ({"key": ".leading-dot"}, "key", "INVALID"),
        ({"key": "k" * 101}, "key", "TOO_LONG"),
        ({"value": {"blob": "x" * 70_000}}, "value", "TOO_LONG"),
        ({"description": "d" * 2001}, "description", "TOO_LONG"),
    ],
    ids=[
        "empty key",
        "upper case",
        "leading dot",
        "long key",
        "large value",
        "long description",
    ],
)
async def test_setting_rules(db: AsyncSession, gql, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    result = await gql(UPDATE, {"input": {"key": "ok.key", "value": 1, **changes}}, viewer=ADMIN)

    assert (field, code) in errors_of(result.data["updateSetting"])
    assert (await count(db, Setting), await count(db, AuditLogEntry)) == (0, 0)


async def test_a_null_value_is_refused_by_the_schema(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(UPDATE, {"input": {"key": "ok.key", "value": None}}, viewer=ADMIN)

    assert [e.extensions["code"] for e in result.errors] == ["BAD_USER_INPUT"]
    assert await count(db, Setting) == 0


async def test_a_retry_with_the_same_key_is_executed_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {
        "input": {"key": "campaigns.max_daily_budget", "value": {"amount": "10"}, "idempotencyKey": "s-1"}
    }

    first = await gql(UPDATE, variables, viewer=ADMIN)
    await gql(
        UPDATE, {"input": {"key": "campaigns.max_daily_budget", "value": {"amount": "20"}}}, viewer=ADMIN
    )
    replay = await gql(UPDATE, variables, viewer=ADMIN)

    # the replay answers what the first call wrote, rebuilt by reading, and does not write it again
    assert replay.data["updateSetting"]["userErrors"] == []
    assert replay.data["updateSetting"]["setting"]["key"] == first.data["updateSetting"]["setting"]["key"]
    assert (await db.scalar(select(Setting.value))) == {"amount": "20"}
    assert await count(db, AuditLogEntry) == 2


@pytest.mark.parametrize("viewer", others(Role.ADMIN), ids=lambda v: v.role.value)
async def test_only_admins_change_settings(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    row = await f.make_setting(db, value=1)

    result = await gql(UPDATE, {"input": {"key": row.key, "value": 2}}, viewer=viewer)

    assert result.data == {"updateSetting": None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert await db.scalar(select(Setting.value)) == 1
    assert await count(db, AuditLogEntry) == 0
