"""Flag mutations: create, update, the kill switch, rollout percentage and delete — validation as
userErrors with nothing written, both audit trails, idempotent retries, who may write, and evaluation
seeing a change on the next request. Variant mutations are in test_flag_mutations_variants.py."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.flags import FeatureFlag, FlagAuditEntry, FlagRollout
from resolvers.audit import Actor
from resolvers.flags import writes
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN)
MARKETER = Viewer(role=Role.MARKETER)
CUSTOMER = Viewer(role=Role.CUSTOMER, user_id=5)
REFUSED = [
    Viewer(role=Role.ANALYST),
    Viewer(role=Role.MERCHANT, merchant_id=1),
    Viewer(role=Role.CUSTOMER, user_id=5),
    Viewer(role=Role.SERVICE),
    ANONYMOUS,
]
REFUSED_IDS = ["analyst", "merchant", "customer", "service", "anonymous"]

FLAG = "flag { id key name description category type enabled rolloutPercentage }"
ERRORS = "userErrors { field message code }"
CREATE = f"mutation ($input: CreateFlagInput!) {{ createFlag(input: $input) {{ {FLAG} {ERRORS} }} }}"
UPDATE = f"mutation ($input: UpdateFlagInput!) {{ updateFlag(input: $input) {{ {FLAG} {ERRORS} }} }}"
TOGGLE = f"mutation ($input: ToggleFlagInput!) {{ toggleFlag(input: $input) {{ {FLAG} {ERRORS} }} }}"
ROLLOUT = f"mutation ($input: SetFlagRolloutInput!) {{ setFlagRollout(input: $input) {{ {FLAG} {ERRORS} }} }}"
DELETE = f"mutation ($input: DeleteFlagInput!) {{ deleteFlag(input: $input) {{ deletedFlagId {ERRORS} }} }}"
EVALUATE = """
query ($keys: [String!]) {
  evaluateFlags(context: {sessionId: "s-1"}, keys: $keys) { key value reason variant variantValue }
}
"""

VALID = {"key": "new_checkout", "name": "New checkout", "category": "UI", "enabled": True}


def _gid(flag: FeatureFlag) -> str:
    return relay.to_base64("FeatureFlag", flag.id)


async def _count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _written(db: AsyncSession) -> tuple[int, int, int, int]:
    """Everything a flag mutation can write, counted: nothing written leaves these unchanged."""
    return (
        await _count(db, FeatureFlag),
        await _count(db, FlagRollout),
        await _count(db, FlagAuditEntry),
        await _count(db, AuditLogEntry),
    )


async def _trail(db: AsyncSession, flag_key: str) -> list[FlagAuditEntry]:
    query = select(FlagAuditEntry).where(FlagAuditEntry.flag_key == flag_key).order_by(FlagAuditEntry.id)
    return list(await db.scalars(query))


async def _general(db: AsyncSession, entity_id: int) -> list[AuditLogEntry]:
    query = (
        select(AuditLogEntry)
        .where(AuditLogEntry.entity_type == "feature_flag", AuditLogEntry.entity_id == entity_id)
        .order_by(AuditLogEntry.id)
    )
    return list(await db.scalars(query))


def _errors(payload: dict) -> list[tuple[str | None, str]]:  # type: ignore[type-arg]
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# create -----------------------------------------------------------------------------------------


async def test_create_writes_the_flag_and_both_audit_rows(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a marketer with an account
    user = await f.make_user(db, role="marketer")
    marketer = Viewer(role=Role.MARKETER, user_id=user.id)

    # when they create a flag
    variables = {"input": {**VALID, "ownerEmail": "owner@example.com", "rolloutPercentage": 25}}
    result = await gql(CREATE, variables, viewer=marketer)

    # then the flag exists as given
    assert result.errors is None, result.errors
    payload = result.data["createFlag"]
    assert payload["userErrors"] == []
    assert payload["flag"]["key"] == "new_checkout"
    assert (payload["flag"]["enabled"], payload["flag"]["rolloutPercentage"]) == (True, 25)
    assert payload["flag"]["type"] == "RELEASE"
    flag = await db.scalar(select(FeatureFlag).where(FeatureFlag.key == "new_checkout"))
    assert (flag.owner_email, flag.created_by, flag.updated_by) == (
        "owner@example.com",
        f"user:{user.id}",
        f"user:{user.id}",
    )
    # and the flag's trail says who, from where, in which request
    (entry,) = await _trail(db, "new_checkout")
    assert (entry.action, entry.flag_id, entry.changed_by, entry.actor_user_id) == (
        "create",
        flag.id,
        f"user:{user.id}",
        user.id,
    )
    assert (str(entry.ip_address), entry.request_id) == ("127.0.0.1", "test")
    assert entry.old_value is None and entry.new_value["rollout_percentage"] == 25
    # and the general audit log has the snapshot
    (general,) = await _general(db, flag.id)
    assert (general.action, general.actor_role, str(general.ip_address)) == (
        "feature_flag.create",
        "marketer",
        "127.0.0.1",
    )
    assert general.before is None and general.after["key"] == "new_checkout"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"key": "Bad Key"}, "key", "INVALID"),
        ({"key": "-leading-dash"}, "key", "INVALID"),
        ({"key": ""}, "key", "REQUIRED"),
        ({"key": "k" * 101}, "key", "TOO_LONG"),
        ({"key": "dark_mode"}, "key", "TAKEN"),
        ({"name": "  "}, "name", "REQUIRED"),
        ({"name": "n" * 256}, "name", "TOO_LONG"),
        ({"description": "d" * 5001}, "description", "TOO_LONG"),
        ({"rolloutPercentage": -1}, "rolloutPercentage", "OUT_OF_RANGE"),
        ({"rolloutPercentage": 101}, "rolloutPercentage", "OUT_OF_RANGE"),
        ({"ownerEmail": "not-an-email"}, "ownerEmail", "INVALID"),
        ({"ownerEmail": "a@b"}, "ownerEmail", "INVALID"),
        ({"reason": "r" * 501}, "reason", "TOO_LONG"),
    ],
    ids=[
        "key with space",
        "key not starting with letter or digit",
        "empty key",
        "long key",
        "duplicate key",
        "blank name",
        "long name",
        "long description",
        "percentage below 0",
        "percentage above 100",
        "bad email",
        "email without domain dot",
        "long reason",
    ],
)
async def test_invalid_creation_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, changes, field, code
) -> None:  # type: ignore[no-untyped-def]
    before = await _written(db)

    result = await gql(CREATE, {"input": {**VALID, **changes}}, viewer=ADMIN)

    assert result.errors is None, result.errors
    payload = result.data["createFlag"]
    assert payload["flag"] is None
    assert (field, code) in _errors(payload)
    assert await _written(db) == before


async def test_an_unknown_category_is_refused_by_the_schema(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    before = await _written(db)

    result = await gql(CREATE, {"input": {**VALID, "category": "NOPE"}}, viewer=ADMIN)

    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert await _written(db) == before


# update -----------------------------------------------------------------------------------------


async def test_update_by_key_audits_only_what_changed(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="checkout_v2", description="Old", owner_email="a@example.com")
    old_name = flag.name

    result = await gql(
        UPDATE,
        {"input": {"key": "checkout_v2", "name": "Checkout v2", "ownerEmail": "", "type": "EXPERIMENT"}},
        viewer=MARKETER,
    )

    payload = result.data["updateFlag"]
    assert payload["userErrors"] == []
    assert (payload["flag"]["name"], payload["flag"]["type"], payload["flag"]["description"]) == (
        "Checkout v2",
        "EXPERIMENT",
        "Old",
    )
    await db.refresh(flag)
    assert flag.owner_email is None and flag.updated_by == "marketer"
    (entry,) = await _trail(db, "checkout_v2")
    assert entry.action == "update"
    assert entry.old_value == {"name": old_name, "owner_email": "a@example.com", "type": "release"}
    assert entry.new_value == {"name": "Checkout v2", "owner_email": None, "type": "experiment"}
    (general,) = await _general(db, flag.id)
    assert general.action == "feature_flag.update"
    assert (general.before["name"], general.after["name"]) == (old_name, "Checkout v2")


async def test_an_update_changing_nothing_writes_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, name="Same")
    before = await _written(db)

    result = await gql(UPDATE, {"input": {"id": _gid(flag), "name": "Same"}}, viewer=ADMIN)

    assert result.data["updateFlag"]["flag"]["name"] == "Same"
    assert await _written(db) == before


@pytest.mark.parametrize(
    ("target", "changes", "field", "code"),
    [
        ("id", {"name": ""}, "name", "REQUIRED"),
        ("id", {"ownerEmail": "nope"}, "ownerEmail", "INVALID"),
        ("id", {"description": "d" * 5001}, "description", "TOO_LONG"),
        ("neither", {"name": "X"}, "id", "REQUIRED"),
        ("both", {"name": "X"}, "id", "REQUIRED"),
        ("unknown id", {"name": "X"}, "id", "NOT_FOUND"),
        ("unknown key", {"name": "X"}, "key", "NOT_FOUND"),
        ("campaign id", {"name": "X"}, "id", "NOT_FOUND"),
    ],
    ids=[
        "blank name",
        "bad email",
        "long description",
        "no target",
        "id and key",
        "unknown id",
        "unknown key",
        "not a flag id",
    ],
)
async def test_invalid_updates_write_nothing(db: AsyncSession, gql, target, changes, field, code) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    targets = {
        "id": {"id": _gid(flag)},
        "neither": {},
        "both": {"id": _gid(flag), "key": flag.key},
        "unknown id": {"id": relay.to_base64("FeatureFlag", f.MISSING_ID)},
        "unknown key": {"key": "no_such_flag"},
        "campaign id": {"id": relay.to_base64("Campaign", flag.id)},
    }
    before = await _written(db)

    result = await gql(UPDATE, {"input": {**targets[target], **changes}}, viewer=ADMIN)

    payload = result.data["updateFlag"]
    assert payload["flag"] is None
    assert (field, code) in _errors(payload)
    assert await _written(db) == before


# toggle: the kill switch ------------------------------------------------------------------------


async def test_the_kill_switch_turns_a_flag_off_with_its_reason(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)

    result = await gql(
        TOGGLE,
        {"input": {"id": _gid(flag), "enabled": False, "reason": "Crash spike in 4.2"}},
        viewer=MARKETER,
    )

    assert result.data["toggleFlag"]["flag"]["enabled"] is False
    (entry,) = await _trail(db, flag.key)
    assert (entry.action, entry.change_reason, entry.changed_by) == (
        "toggle",
        "Crash spike in 4.2",
        "marketer",
    )
    assert (entry.old_value, entry.new_value) == ({"enabled": True}, {"enabled": False})
    assert (str(entry.ip_address), entry.request_id) == ("127.0.0.1", "test")
    (general,) = await _general(db, flag.id)
    assert (general.action, general.before["enabled"], general.after["enabled"]) == (
        "feature_flag.toggle",
        True,
        False,
    )


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "REQUIRED"), ("   ", "REQUIRED"), ("r" * 501, "TOO_LONG")],
    ids=["empty", "blank", "long"],
)
async def test_the_kill_switch_needs_a_reason(db: AsyncSession, gql, reason, code) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)
    before = await _written(db)

    result = await gql(
        TOGGLE, {"input": {"id": _gid(flag), "enabled": False, "reason": reason}}, viewer=ADMIN
    )

    assert _errors(result.data["toggleFlag"]) == [("reason", code)]
    assert await _written(db) == before
    assert (await db.get(FeatureFlag, flag.id)).enabled is True


async def test_a_toggle_without_a_reason_field_is_refused_by_the_schema(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)
    before = await _written(db)

    result = await gql(TOGGLE, {"input": {"id": _gid(flag), "enabled": False}}, viewer=ADMIN)

    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert await _written(db) == before


async def test_toggling_an_unknown_flag_is_not_found(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    before = await _written(db)

    by_id = await gql(
        TOGGLE,
        {"input": {"id": relay.to_base64("FeatureFlag", f.MISSING_ID), "enabled": False, "reason": "x"}},
        viewer=ADMIN,
    )
    by_key = await gql(TOGGLE, {"input": {"key": "nope", "enabled": False, "reason": "x"}}, viewer=ADMIN)

    assert _errors(by_id.data["toggleFlag"]) == [("id", "NOT_FOUND")]
    assert _errors(by_key.data["toggleFlag"]) == [("key", "NOT_FOUND")]
    assert await _written(db) == before


async def test_switching_to_the_current_state_writes_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=False)
    before = await _written(db)

    result = await gql(
        TOGGLE, {"input": {"key": flag.key, "enabled": False, "reason": "again"}}, viewer=ADMIN
    )

    assert result.data["toggleFlag"]["flag"]["enabled"] is False
    assert await _written(db) == before


# rollout percentage -----------------------------------------------------------------------------


async def test_set_rollout_audits_old_and_new_percentage(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, rollout_percentage=10)

    result = await gql(
        ROLLOUT, {"input": {"id": _gid(flag), "rolloutPercentage": 50, "reason": "Stage 2"}}, viewer=ADMIN
    )

    assert result.data["setFlagRollout"]["flag"]["rolloutPercentage"] == 50
    (entry,) = await _trail(db, flag.key)
    assert (entry.action, entry.old_value, entry.new_value, entry.change_reason) == (
        "rollout",
        {"rollout_percentage": 10},
        {"rollout_percentage": 50},
        "Stage 2",
    )
    (general,) = await _general(db, flag.id)
    assert general.action == "feature_flag.rollout"


@pytest.mark.parametrize("percentage", [-1, 101, 1000])
async def test_rollout_out_of_range_writes_nothing(db: AsyncSession, gql, percentage: int) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, rollout_percentage=10)
    before = await _written(db)

    result = await gql(ROLLOUT, {"input": {"id": _gid(flag), "rolloutPercentage": percentage}}, viewer=ADMIN)

    assert _errors(result.data["setFlagRollout"]) == [("rolloutPercentage", "OUT_OF_RANGE")]
    assert await _written(db) == before


# delete -----------------------------------------------------------------------------------------


async def test_delete_keeps_the_audit_trail(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="old_banner")
    await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="on", weight=1000)
    await f.make_feature_flag_audit_entry(db, flag_id=flag.id, flag_key="old_banner", action="create")
    flag_id = flag.id

    result = await gql(DELETE, {"input": {"key": "old_banner", "reason": "Launched"}}, viewer=ADMIN)

    assert result.data["deleteFlag"] == {
        "deletedFlagId": relay.to_base64("FeatureFlag", flag_id),
        "userErrors": [],
    }
    assert await db.scalar(select(FeatureFlag).where(FeatureFlag.key == "old_banner")) is None
    assert await db.scalar(select(func.count()).where(FlagRollout.flag_id == flag_id)) == 0
    earlier, deleted = await _trail(db, "old_banner")
    for entry in (earlier, deleted):
        await db.refresh(entry)
        assert entry.flag_id is None  # ON DELETE SET NULL, the key stays
    assert (deleted.action, deleted.change_reason, deleted.new_value) == ("delete", "Launched", None)
    assert deleted.old_value["key"] == "old_banner"
    assert [v["variant_key"] for v in deleted.old_value["variants"]] == ["on"]
    (general,) = await _general(db, flag_id)
    assert (general.action, general.after) == ("feature_flag.delete", None)


async def test_deleting_an_unknown_flag_is_not_found(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    before = await _written(db)

    result = await gql(DELETE, {"input": {"id": relay.to_base64("FeatureFlag", f.MISSING_ID)}}, viewer=ADMIN)

    assert result.data["deleteFlag"]["deletedFlagId"] is None
    assert _errors(result.data["deleteFlag"]) == [("id", "NOT_FOUND")]
    assert await _written(db) == before


# idempotent retries -----------------------------------------------------------------------------


async def test_a_retried_create_writes_once_and_answers_the_same(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**VALID, "idempotencyKey": "create-1"}}

    first = await gql(CREATE, variables, viewer=ADMIN)
    second = await gql(CREATE, variables, viewer=ADMIN)

    assert first.errors is None and first.data == second.data
    assert len(await _trail(db, "new_checkout")) == 1


async def test_a_retried_toggle_writes_one_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)
    variables = {
        "input": {"id": _gid(flag), "enabled": False, "reason": "Incident 12", "idempotencyKey": "t-1"}
    }

    first = await gql(TOGGLE, variables, viewer=ADMIN)
    await gql(TOGGLE, {"input": {"id": _gid(flag), "enabled": True, "reason": "Fixed"}}, viewer=ADMIN)
    replay = await gql(TOGGLE, variables, viewer=ADMIN)

    # the replay does not switch the flag off again: it reads it as it is now
    assert first.data["toggleFlag"]["flag"]["enabled"] is False
    assert replay.data["toggleFlag"]["flag"]["enabled"] is True
    assert [e.action for e in await _trail(db, flag.key)] == ["toggle", "toggle"]


async def test_a_retried_delete_answers_the_same(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    variables = {"input": {"id": _gid(flag), "idempotencyKey": "d-1"}}

    first = await gql(DELETE, variables, viewer=ADMIN)
    second = await gql(DELETE, variables, viewer=ADMIN)

    assert first.data == second.data and second.data["deleteFlag"]["userErrors"] == []


# who may write ----------------------------------------------------------------------------------

FLAG_DOCUMENTS = {
    "createFlag": (CREATE, lambda flag: {**VALID}),
    "updateFlag": (UPDATE, lambda flag: {"id": _gid(flag), "name": "X"}),
    "toggleFlag": (TOGGLE, lambda flag: {"id": _gid(flag), "enabled": False, "reason": "x"}),
    "setFlagRollout": (ROLLOUT, lambda flag: {"id": _gid(flag), "rolloutPercentage": 5}),
    "deleteFlag": (DELETE, lambda flag: {"id": _gid(flag)}),
}


@pytest.mark.parametrize("operation", list(FLAG_DOCUMENTS))
@pytest.mark.parametrize("viewer", REFUSED, ids=REFUSED_IDS)
async def test_only_admins_and_marketers_write_flags(
    db: AsyncSession, gql, viewer: Viewer, operation: str
) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)
    document, make_input = FLAG_DOCUMENTS[operation]
    before = await _written(db)

    result = await gql(document, {"input": make_input(flag)}, viewer=viewer)

    assert result.data == {operation: None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert await _written(db) == before


@pytest.mark.parametrize("viewer", [ADMIN, MARKETER], ids=["admin", "marketer"])
async def test_admins_and_marketers_may_pull_the_kill_switch(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, enabled=True)

    result = await gql(TOGGLE, {"input": {"id": _gid(flag), "enabled": False, "reason": "x"}}, viewer=viewer)

    assert result.errors is None and result.data["toggleFlag"]["flag"]["enabled"] is False


# evaluation sees the change on the next request -------------------------------------------------


async def test_evaluation_reflects_a_toggle_on_the_next_request(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given an enabled flag a customer gets
    flag = await f.make_feature_flag(db, key="instant_payouts", enabled=True, rollout_percentage=100)
    on = await gql(EVALUATE, {"keys": ["instant_payouts"]}, viewer=CUSTOMER)
    assert on.data["evaluateFlags"][0]["value"] is True

    # when the kill switch is pulled
    await gql(TOGGLE, {"input": {"id": _gid(flag), "enabled": False, "reason": "Fraud"}}, viewer=ADMIN)

    # then the next evaluation is off, because the flag is disabled
    off = await gql(EVALUATE, {"keys": ["instant_payouts"]}, viewer=CUSTOMER)
    assert off.data["evaluateFlags"][0] == {
        "key": "instant_payouts",
        "value": False,
        "reason": "DISABLED",
        "variant": None,
        "variantValue": None,
    }


async def test_evaluation_reflects_a_rollout_of_zero_and_a_deletion(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="slow_rollout", enabled=True, rollout_percentage=100)

    await gql(ROLLOUT, {"input": {"id": _gid(flag), "rolloutPercentage": 0}}, viewer=ADMIN)
    zero = await gql(EVALUATE, {"keys": ["slow_rollout"]}, viewer=CUSTOMER)
    await gql(DELETE, {"input": {"id": _gid(flag)}}, viewer=ADMIN)
    gone = await gql(EVALUATE, {"keys": ["slow_rollout"]}, viewer=CUSTOMER)

    assert (zero.data["evaluateFlags"][0]["value"], zero.data["evaluateFlags"][0]["reason"]) == (
        False,
        "SPLIT",
    )
    assert gone.data["evaluateFlags"][0]["value"] is False
    assert gone.data["evaluateFlags"][0]["reason"] == "DEFAULT"


# the audit's client address ---------------------------------------------------------------------


async def test_an_address_that_is_not_an_ip_is_not_recorded(db: AsyncSession) -> None:
    flag = await f.make_feature_flag(db, enabled=True)
    actor = Actor(viewer=ADMIN, ip_address="unknown", request_id="r-1")

    outcome = await writes.toggle_flag(
        session=db, actor=actor, ref=writes.FlagRef(id=flag.id), enabled=False, reason="x"
    )

    assert outcome.ok
    (entry,) = await _trail(db, flag.key)
    assert (entry.ip_address, entry.request_id) == (None, "r-1")
