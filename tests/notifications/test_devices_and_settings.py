"""Push devices (register at each start, a token moving between accounts, the per-person limit,
unregister) and notification settings (preferences, quiet hours, time zone; refused as a whole)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.admin import AuditLogEntry
from models.notifications import Device
from tests.models import factories as f
from tests.models import notification_factories as n
from tests.users.support import customer, gid

REGISTER = """
mutation ($input: RegisterDeviceInput!) {
  registerDevice(input: $input) { device { id platform active appVersion } userErrors { field code } }
}
"""
UNREGISTER = """
mutation ($id: ID!) {
  unregisterDevice(input: {id: $id}) { device { active deactivatedReason } userErrors { code } }
}
"""
SETTINGS = """
mutation ($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    settings {
      timeZone timeZoneIsDefault quietHours { starts ends } preferences { channel category enabled }
    }
    userErrors { field code }
  }
}
"""
TOKEN = "a" * 64


async def test_registering_is_idempotent_and_a_token_moves_to_the_account_that_registers_it(
    db: AsyncSession,
    gql,  # type: ignore[no-untyped-def]
) -> None:
    ann, bob = await f.make_user(db), await f.make_user(db)
    device = {"platform": "IOS", "token": TOKEN, "appVersion": "4.2.0"}

    first = await gql(REGISTER, {"input": device}, viewer=customer(ann.id))
    again = await gql(REGISTER, {"input": {**device, "appVersion": "4.3.0"}}, viewer=customer(ann.id))
    moved = await gql(REGISTER, {"input": device}, viewer=customer(bob.id))

    assert first.data["registerDevice"]["userErrors"] == []
    assert again.data["registerDevice"]["device"]["id"] == first.data["registerDevice"]["device"]["id"]
    assert again.data["registerDevice"]["device"]["appVersion"] == "4.3.0"
    owners = (await db.scalars(select(Device.user_id).where(Device.token == TOKEN))).all()
    assert owners == [bob.id]
    assert moved.data["registerDevice"]["device"]["active"] is True


async def test_bad_tokens_and_too_many_devices_are_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann = await f.make_user(db)
    for i in range(10):
        await n.make_device(db, user_id=ann.id, token=f"token-{i:04d}-xyz")

    spaced = await register_errors(gql, ann.id, {"platform": "ANDROID", "token": "has a space in it"})
    short = await register_errors(gql, ann.id, {"platform": "ANDROID", "token": "short"})
    eleventh = await register_errors(gql, ann.id, {"platform": "WEB", "token": TOKEN})
    existing = await register_errors(gql, ann.id, {"platform": "IOS", "token": "token-0003-xyz"})

    assert spaced == [{"field": "token", "code": "INVALID"}]
    assert short == [{"field": "token", "code": "INVALID"}]
    assert eleventh == [{"field": "token", "code": "OUT_OF_RANGE"}]
    # an already registered device is refreshed, not counted again
    assert existing == []


async def register_errors(gql, user_id: int, device: dict[str, str]) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    result = await gql(REGISTER, {"input": device}, viewer=customer(user_id))
    return result.data["registerDevice"]["userErrors"]  # type: ignore[no-any-return]


async def test_unregistering_stops_pushes_to_ones_own_device_only(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann, bob = await f.make_user(db), await f.make_user(db)
    mine, theirs = await n.make_device(db, user_id=ann.id), await n.make_device(db, user_id=bob.id)

    done = await gql(UNREGISTER, {"id": gid("Device", mine.id)}, viewer=customer(ann.id))
    refused = await gql(UNREGISTER, {"id": gid("Device", theirs.id)}, viewer=customer(ann.id))

    assert done.data["unregisterDevice"]["device"] == {"active": False, "deactivatedReason": "unregistered"}
    assert refused.data["unregisterDevice"]["userErrors"] == [{"code": "NOT_FOUND"}]
    await db.refresh(theirs)
    assert theirs.active is True


async def test_settings_are_written_together_and_audited(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann = await f.make_user(db)
    change = {
        "preferences": [{"channel": "EMAIL", "category": "OFFERS", "enabled": False}],
        "quietHours": {"starts": "22:00:00", "ends": "07:30:00"},
        "timeZone": "Europe/Paris",
    }

    result = await gql(SETTINGS, {"input": change}, viewer=customer(ann.id))

    settings = result.data["updateNotificationSettings"]["settings"]
    assert (settings["timeZone"], settings["timeZoneIsDefault"]) == ("Europe/Paris", False)
    assert settings["quietHours"] == {"starts": "22:00:00", "ends": "07:30:00"}
    off = [(p["channel"], p["category"]) for p in settings["preferences"] if not p["enabled"]]
    assert off == [("EMAIL", "OFFERS")]
    assert len(settings["preferences"]) == 16
    audit = await db.scalar(
        select(AuditLogEntry.after).where(AuditLogEntry.action == "notification_settings.update")
    )
    assert audit == {
        "preferences": ["email/offers=False"],
        "quiet_hours": ["22:00", "07:30"],
        "time_zone": "Europe/Paris",
    }


async def test_bad_settings_write_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    ann = await f.make_user(db)
    bad = {
        "preferences": [{"channel": "PUSH", "category": "ACCOUNT", "enabled": False}],
        "quietHours": {"starts": "22:00:00", "ends": "22:00:00"},
        "timeZone": "Mars/Olympus_Mons",
    }

    result = await gql(SETTINGS, {"input": bad}, viewer=customer(ann.id))
    reset = await gql(SETTINGS, {"input": {"timeZone": ""}}, viewer=customer(ann.id))

    fields = {e["field"] for e in result.data["updateNotificationSettings"]["userErrors"]}
    assert fields == {"preferences", "quietHours", "timeZone"}
    assert reset.data["updateNotificationSettings"]["settings"]["timeZoneIsDefault"] is True
    assert reset.data["updateNotificationSettings"]["settings"]["timeZone"] == "UTC"
