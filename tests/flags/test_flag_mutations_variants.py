"""Variant mutations: each segment's active weights total 1000 (or none is active) after every change,
setFlagVariants replaces a segment at once, single changes are checked against the segment they leave,
both audit trails, idempotent retries, who may write, and evaluation on the next request."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import Role, Viewer
from models.admin import AuditLogEntry
from models.flags import FeatureFlag, FlagAuditEntry, FlagRollout
from tests.flags.test_flag_mutations import ADMIN, CUSTOMER, MARKETER, REFUSED, REFUSED_IDS, _errors, _written
from tests.models import factories as f

PAYLOAD = """
  flag { key updatedAt rollouts { segment variantKey weight active } }
  userSegment
  variants { segment variantKey variantValue weight active }
  userErrors { field message code }
"""
SET = f"mutation ($input: SetFlagVariantsInput!) {{ setFlagVariants(input: $input) {{ {PAYLOAD} }} }}"
ADD = f"mutation ($input: AddFlagVariantInput!) {{ addFlagVariant(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"mutation ($input: UpdateFlagVariantInput!) {{ updateFlagVariant(input: $input) {{ {PAYLOAD} }} }}"
REMOVE = f"mutation ($input: RemoveFlagVariantInput!) {{ removeFlagVariant(input: $input) {{ {PAYLOAD} }} }}"
EVALUATE = """
query ($segment: String) {
  evaluateFlags(context: {sessionId: "s-1", segment: $segment}, keys: ["themes"]) {
    value reason variant variantValue
  }
}
"""


def _gid(flag: FeatureFlag) -> str:
    return relay.to_base64("FeatureFlag", flag.id)


def _variant(key: str, weight: int, value: str | None = None, active: bool = True) -> dict[str, object]:
    return {"variantKey": key, "variantValue": value or key, "weight": weight, "active": active}


async def _rows(db: AsyncSession, flag_id: int, segment: str | None = None) -> list[tuple[str, int, bool]]:
    query = (
        select(FlagRollout)
        .where(FlagRollout.flag_id == flag_id, FlagRollout.user_segment.is_not_distinct_from(segment))
        .order_by(FlagRollout.id)
        .execution_options(populate_existing=True)
    )
    return [(r.variant_key, r.weight, r.active) for r in await db.scalars(query)]


async def _trail(db: AsyncSession, flag_key: str) -> list[FlagAuditEntry]:
    query = select(FlagAuditEntry).where(FlagAuditEntry.flag_key == flag_key).order_by(FlagAuditEntry.id)
    return list(await db.scalars(query))


async def _flag_with(db: AsyncSession, *variants: tuple[str, int], segment: str | None = None) -> FeatureFlag:
    flag = await f.make_feature_flag(db, key=f"themes_{f.seq()}", enabled=True)
    for key, weight in variants:
        await f.make_feature_flag_rollout(
            db, flag_id=flag.id, user_segment=segment, variant_key=key, variant_value=key, weight=weight
        )
    return flag


# setFlagVariants --------------------------------------------------------------------------------


async def test_set_variants_builds_a_segment_and_audits_each_variant(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a flag without variants, and an admin with an account
    flag = await _flag_with(db)
    user = await f.make_user(db, role="admin")
    admin = Viewer(role=Role.ADMIN, user_id=user.id)

    # when the admin sets two variants at once
    variables = {
        "input": {
            "flagId": _gid(flag),
            "variants": [_variant("light", 700), _variant("dark", 300)],
            "reason": "Dark theme beta",
        }
    }
    result = await gql(SET, variables, viewer=admin)

    # then the segment has them, in the order given
    assert result.errors is None, result.errors
    payload = result.data["setFlagVariants"]
    assert payload["userErrors"] == []
    assert payload["userSegment"] is None
    assert [(v["variantKey"], v["weight"]) for v in payload["variants"]] == [("light", 700), ("dark", 300)]
    assert await _rows(db, flag.id) == [("light", 700, True), ("dark", 300, True)]
    # and each added variant has its audit row, with who, why, where and which request
    entries = await _trail(db, flag.key)
    assert [(e.action, e.new_value["variant_key"]) for e in entries] == [
        ("variant_add", "light"),
        ("variant_add", "dark"),
    ]
    for entry in entries:
        assert (entry.flag_id, entry.changed_by, entry.actor_user_id) == (flag.id, f"user:{user.id}", user.id)
        assert (entry.change_reason, str(entry.ip_address), entry.request_id) == (
            "Dark theme beta",
            "127.0.0.1",
            "test",
        )
        assert entry.old_value is None
    general = list(
        await db.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == "feature_flag_rollout")
            .order_by(AuditLogEntry.id)
        )
    )
    assert [(g.action, g.after["variant_key"], g.before) for g in general] == [
        ("feature_flag.variant_add", "light", None),
        ("feature_flag.variant_add", "dark", None),
    ]
    # and the flag's last change is the updater's
    assert (await db.get(FeatureFlag, flag.id)).updated_by == f"user:{user.id}"


async def test_set_variants_keeps_the_rows_of_kept_keys_and_audits_the_differences(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 500), ("b", 500))
    first_id = await db.scalar(
        select(FlagRollout.id).where(FlagRollout.flag_id == flag.id, FlagRollout.variant_key == "a")
    )

    result = await gql(
        SET,
        {"input": {"flagKey": flag.key, "variants": [_variant("c", 200), _variant("a", 800)]}},
        viewer=MARKETER,
    )

    assert result.data["setFlagVariants"]["userErrors"] == []
    # "a" keeps its row (and its place in the hashing order); "c" comes after it
    assert await _rows(db, flag.id) == [("a", 800, True), ("c", 200, True)]
    assert (
        await db.scalar(
            select(FlagRollout.id).where(FlagRollout.flag_id == flag.id, FlagRollout.variant_key == "a")
        )
        == first_id
    )
    changes = [
        (e.action, (e.old_value or {}).get("weight"), (e.new_value or {}).get("weight"))
        for e in await _trail(db, flag.key)
    ]
    assert changes == [
        ("variant_remove", 500, None),
        ("variant_add", None, 200),
        ("variant_update", 500, 800),
    ]


async def test_set_variants_per_segment_leaves_other_segments_alone(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 1000))

    result = await gql(
        SET,
        {"input": {"flagId": _gid(flag), "userSegment": "beta", "variants": [_variant("b", 1000)]}},
        viewer=ADMIN,
    )

    assert result.data["setFlagVariants"]["userSegment"] == "beta"
    assert await _rows(db, flag.id) == [("a", 1000, True)]
    assert await _rows(db, flag.id, "beta") == [("b", 1000, True)]
    segments = {(r["segment"], r["variantKey"]) for r in result.data["setFlagVariants"]["flag"]["rollouts"]}
    assert segments == {(None, "a"), ("beta", "b")}


async def test_an_empty_list_removes_a_segment_and_unchanged_variants_write_nothing(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 600), ("b", 400))
    before = await _written(db)

    same = await gql(
        SET,
        {"input": {"flagId": _gid(flag), "variants": [_variant("a", 600), _variant("b", 400)]}},
        viewer=ADMIN,
    )
    assert same.data["setFlagVariants"]["userErrors"] == []
    assert await _written(db) == before

    emptied = await gql(SET, {"input": {"flagId": _gid(flag), "variants": []}}, viewer=ADMIN)
    assert emptied.data["setFlagVariants"]["variants"] == []
    assert await _rows(db, flag.id) == []
    assert [e.action for e in await _trail(db, flag.key)] == ["variant_remove", "variant_remove"]


async def test_inactive_variants_do_not_count_towards_the_total(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db)

    result = await gql(
        SET,
        {
            "input": {
                "flagId": _gid(flag),
                "variants": [_variant("a", 1000), _variant("b", 300, active=False)],
            }
        },
        viewer=ADMIN,
    )

    assert result.data["setFlagVariants"]["userErrors"] == []
    assert await _rows(db, flag.id) == [("a", 1000, True), ("b", 300, False)]


@pytest.mark.parametrize(
    ("variants", "segment", "field", "code"),
    [
        ([_variant("a", 500), _variant("b", 400)], None, "variants", "INVALID"),
        ([_variant("a", 600), _variant("b", 600)], None, "variants", "INVALID"),
        ([_variant("a", 1001)], None, "variants.0.weight", "OUT_OF_RANGE"),
        ([_variant("a", -1), _variant("b", 1001)], None, "variants.0.weight", "OUT_OF_RANGE"),
        ([_variant("a", 500), _variant("a", 500)], None, "variants.1.variantKey", "INVALID"),
        ([_variant("has space", 1000)], None, "variants.0.variantKey", "INVALID"),
        ([_variant("", 1000)], None, "variants.0.variantKey", "REQUIRED"),
        ([_variant("k" * 101, 1000)], None, "variants.0.variantKey", "TOO_LONG"),
        ([_variant("a", 1000, value="v" * 5001)], None, "variants.0.variantValue", "TOO_LONG"),
        ([_variant(f"v{i}", 0) for i in range(50)] + [_variant("x", 1000)], None, "variants", "OUT_OF_RANGE"),
        ([_variant("a", 1000)], "  ", "userSegment", "REQUIRED"),
        ([_variant("a", 1000)], "s" * 101, "userSegment", "TOO_LONG"),
    ],
    ids=[
        "sum below 1000",
        "sum above 1000",
        "weight above 1000",
        "negative weight",
        "repeated key",
        "bad variant key",
        "empty variant key",
        "long variant key",
        "long value",
        "too many variants",
        "blank segment",
        "long segment",
    ],
)
async def test_invalid_variant_sets_write_nothing(
    db: AsyncSession, gql, variants, segment, field, code
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 1000))
    before = await _written(db)

    result = await gql(
        SET, {"input": {"flagId": _gid(flag), "userSegment": segment, "variants": variants}}, viewer=ADMIN
    )

    payload = result.data["setFlagVariants"]
    assert (payload["flag"], payload["variants"]) == (None, None)
    assert (field, code) in _errors(payload)
    assert await _written(db) == before
    assert await _rows(db, flag.id) == [("a", 1000, True)]


async def test_the_weight_error_points_at_set_flag_variants(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 1000))

    result = await gql(ADD, {"input": {"flagId": _gid(flag), "variantKey": "b", "weight": 500}}, viewer=ADMIN)

    (error,) = result.data["addFlagVariant"]["userErrors"]
    assert (error["field"], error["code"]) == ("weight", "INVALID")
    assert "got 1500" in error["message"] and "setFlagVariants" in error["message"]


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"flagId": relay.to_base64("FeatureFlag", f.MISSING_ID)},
        {"flagKey": "nope"},
        {"flagId": relay.to_base64("User", 1)},
    ],
    ids=["no flag", "unknown id", "unknown key", "not a flag id"],
)
async def test_variants_of_an_unknown_flag_are_refused(db: AsyncSession, gql, target) -> None:  # type: ignore[no-untyped-def]
    before = await _written(db)

    result = await gql(SET, {"input": {**target, "variants": [_variant("a", 1000)]}}, viewer=ADMIN)

    codes = _errors(result.data["setFlagVariants"])
    assert len(codes) == 1 and codes[0][1] in ("REQUIRED", "NOT_FOUND")
    assert codes[0][0] == ("flagKey" if "flagKey" in target else "flagId")
    assert await _written(db) == before


# addFlagVariant ---------------------------------------------------------------------------------


async def test_one_variant_can_be_added_to_an_empty_segment(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db)

    result = await gql(
        ADD,
        {
            "input": {
                "flagId": _gid(flag),
                "userSegment": "vip",
                "variantKey": "gold",
                "variantValue": "g",
                "weight": 1000,
            }
        },
        viewer=MARKETER,
    )

    payload = result.data["addFlagVariant"]
    assert payload["userErrors"] == []
    assert payload["variants"] == [
        {"segment": "vip", "variantKey": "gold", "variantValue": "g", "weight": 1000, "active": True}
    ]
    (entry,) = await _trail(db, flag.key)
    assert (entry.action, entry.old_value, entry.new_value) == (
        "variant_add",
        None,
        {"user_segment": "vip", "variant_key": "gold", "variant_value": "g", "weight": 1000, "active": True},
    )


@pytest.mark.parametrize(
    ("existing", "variant", "ok"),
    [
        ([("a", 1000)], {"variantKey": "b", "weight": 0}, True),
        ([("a", 1000)], {"variantKey": "b", "weight": 400, "active": False}, True),
        ([("a", 1000)], {"variantKey": "b", "weight": 1}, False),
        ([], {"variantKey": "a", "weight": 999}, False),
        ([("a", 1000)], {"variantKey": "a", "weight": 0}, False),
    ],
    ids=["zero weight", "inactive", "over 1000", "under 1000", "taken key"],
)
async def test_an_added_variant_must_leave_a_valid_segment(
    db: AsyncSession, gql, existing, variant, ok
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, *existing)
    before = await _written(db)

    result = await gql(ADD, {"input": {"flagId": _gid(flag), **variant}}, viewer=ADMIN)

    errors = _errors(result.data["addFlagVariant"])
    if ok:
        assert errors == []
    else:
        assert errors in ([("weight", "INVALID")], [("variantKey", "TAKEN")])
        assert await _written(db) == before


# updateFlagVariant ------------------------------------------------------------------------------


async def test_a_variant_value_can_change_alone(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 700), ("b", 300))

    result = await gql(
        UPDATE,
        {"input": {"flagId": _gid(flag), "variantKey": "b", "variantValue": "blue", "reason": "Rename"}},
        viewer=ADMIN,
    )

    payload = result.data["updateFlagVariant"]
    assert payload["userErrors"] == []
    assert [v["variantValue"] for v in payload["variants"]] == ["a", "blue"]
    (entry,) = await _trail(db, flag.key)
    assert (
        entry.action,
        entry.old_value["variant_value"],
        entry.new_value["variant_value"],
        entry.change_reason,
    ) == (
        "variant_update",
        "b",
        "blue",
        "Rename",
    )
    general = await db.scalar(
        select(AuditLogEntry).where(AuditLogEntry.entity_type == "feature_flag_rollout")
    )
    assert (general.action, general.before["variant_value"], general.after["variant_value"]) == (
        "feature_flag.variant_update",
        "b",
        "blue",
    )


@pytest.mark.parametrize(
    ("existing", "change", "errors"),
    [
        ([("a", 700), ("b", 300)], {"variantKey": "b", "weight": 400}, [("weight", "INVALID")]),
        ([("a", 700), ("b", 300)], {"variantKey": "b", "active": False}, [("weight", "INVALID")]),
        ([("a", 1000)], {"variantKey": "a", "active": False}, []),
        ([("a", 1000)], {"variantKey": "a", "weight": 1001}, [("weight", "OUT_OF_RANGE")]),
        ([("a", 1000)], {"variantKey": "zzz", "weight": 1000}, [("variantKey", "NOT_FOUND")]),
        ([("a", 1000)], {"variantKey": "a", "weight": 1000, "reason": "r" * 501}, [("reason", "TOO_LONG")]),
    ],
    ids=[
        "weight breaks the total",
        "deactivating breaks the total",
        "deactivating the only one",
        "weight range",
        "unknown variant",
        "long reason",
    ],
)
async def test_an_updated_variant_must_leave_a_valid_segment(
    db: AsyncSession, gql, existing, change, errors
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, *existing)
    before = await _written(db)

    result = await gql(UPDATE, {"input": {"flagId": _gid(flag), **change}}, viewer=ADMIN)

    assert _errors(result.data["updateFlagVariant"]) == errors
    if errors:
        assert await _written(db) == before


# removeFlagVariant ------------------------------------------------------------------------------


async def test_removing_the_only_variant_empties_the_segment(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 1000), segment="beta")

    result = await gql(
        REMOVE, {"input": {"flagId": _gid(flag), "userSegment": "beta", "variantKey": "a"}}, viewer=ADMIN
    )

    assert result.data["removeFlagVariant"]["variants"] == []
    (entry,) = await _trail(db, flag.key)
    assert (entry.action, entry.old_value["variant_key"], entry.new_value) == ("variant_remove", "a", None)
    general = await db.scalar(
        select(AuditLogEntry).where(AuditLogEntry.entity_type == "feature_flag_rollout")
    )
    assert (general.action, general.before["variant_key"], general.after) == (
        "feature_flag.variant_remove",
        "a",
        None,
    )


@pytest.mark.parametrize(
    ("segment", "key", "errors"),
    [
        (None, "b", [("variantKey", "INVALID")]),
        (None, "nope", [("variantKey", "NOT_FOUND")]),
        ("other", "a", [("variantKey", "NOT_FOUND")]),
    ],
    ids=["breaks the total", "unknown variant", "other segment"],
)
async def test_refused_removals_write_nothing(db: AsyncSession, gql, segment, key, errors) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 700), ("b", 300))
    before = await _written(db)

    result = await gql(
        REMOVE, {"input": {"flagId": _gid(flag), "userSegment": segment, "variantKey": key}}, viewer=ADMIN
    )

    assert _errors(result.data["removeFlagVariant"]) == errors
    assert await _written(db) == before


# idempotent retries, roles, evaluation ----------------------------------------------------------


async def test_a_retried_set_writes_once_and_answers_the_same(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db)
    variables = {
        "input": {
            "flagId": _gid(flag),
            "userSegment": "beta",
            "variants": [_variant("x", 1000)],
            "idempotencyKey": "v-1",
        }
    }

    first = await gql(SET, variables, viewer=ADMIN)
    second = await gql(SET, variables, viewer=ADMIN)

    assert first.errors is None and first.data == second.data
    assert len(await _trail(db, flag.key)) == 1


VARIANT_DOCUMENTS = {
    "setFlagVariants": (SET, {"variants": [_variant("a", 1000)]}),
    "addFlagVariant": (ADD, {"variantKey": "b", "weight": 0}),
    "updateFlagVariant": (UPDATE, {"variantKey": "a", "variantValue": "z"}),
    "removeFlagVariant": (REMOVE, {"variantKey": "a"}),
}


@pytest.mark.parametrize("operation", list(VARIANT_DOCUMENTS))
@pytest.mark.parametrize("viewer", REFUSED, ids=REFUSED_IDS)
async def test_only_admins_and_marketers_write_variants(
    db: AsyncSession, gql, viewer: Viewer, operation: str
) -> None:  # type: ignore[no-untyped-def]
    flag = await _flag_with(db, ("a", 1000))
    document, fields = VARIANT_DOCUMENTS[operation]
    before = await _written(db)

    result = await gql(document, {"input": {"flagId": _gid(flag), **fields}}, viewer=viewer)

    assert result.data == {operation: None}
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert await _written(db) == before


async def test_evaluation_picks_up_new_variants_on_the_next_request(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="themes", enabled=True, rollout_percentage=100)
    plain = await gql(EVALUATE, {"segment": "beta"}, viewer=CUSTOMER)
    assert (plain.data["evaluateFlags"][0]["reason"], plain.data["evaluateFlags"][0]["variant"]) == (
        "DEFAULT",
        None,
    )

    await gql(
        SET,
        {
            "input": {
                "flagId": _gid(flag),
                "userSegment": "beta",
                "variants": [_variant("dark", 1000, "night")],
            }
        },
        viewer=ADMIN,
    )
    targeted = await gql(EVALUATE, {"segment": "beta"}, viewer=CUSTOMER)

    assert targeted.data["evaluateFlags"][0] == {
        "value": True,
        "reason": "TARGETING_MATCH",
        "variant": "dark",
        "variantValue": "night",
    }
