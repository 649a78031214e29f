"""recordFlagUsage: checks reported by the apps stored all or none; customers report as themselves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.flags import FeatureFlag, FlagUsage
from tests.flags.support import ADMIN, ANALYST, MARKETER, MERCHANT, SERVICE, utc_now
from tests.models import factories as f

RECORD = """
mutation ($input: RecordFlagUsageInput!) {
  recordFlagUsage(input: $input) { recorded userErrors { field message code } }
}
"""
AT = utc_now() - dt.timedelta(hours=1)


def check(flag: FeatureFlag, **extra: Any) -> dict[str, Any]:
    return {"flagKey": flag.key, "appType": "MOBILE", "accessedAt": AT.isoformat(), **extra}


def user_gid(user_id: int) -> str:
    return relay.to_base64("User", user_id)


async def stored(db: AsyncSession) -> list[FlagUsage]:
    return list((await db.scalars(select(FlagUsage).order_by(FlagUsage.id))).all())


async def test_a_service_stores_every_check(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a flag and a user
    flag = await f.make_feature_flag(db)
    user = await f.make_user(db)
    checks = [
        check(
            flag,
            userId=user_gid(user.id),
            valueUsed=True,
            variantKey="blue",
            responseTimeMs=3.5,
            cacheHit=True,
        ),
        check(flag, appType="WEB", sessionId="sess-1", valueUsed=False, error=True),
    ]

    # when a service reports two checks
    result = await gql(RECORD, {"input": {"events": checks}}, viewer=SERVICE)

    # then both are stored as sent
    assert result.errors is None, result.errors
    assert result.data["recordFlagUsage"] == {"recorded": 2, "userErrors": []}
    first, second = await stored(db)
    assert (first.flag_id, first.user_id, first.app_type, first.accessed_at) == (
        flag.id,
        user.id,
        "mobile",
        AT,
    )
    assert (first.value_used, first.variant_key, first.response_time_ms, first.cache_hit, first.error) == (
        True,
        "blue",
        3.5,
        True,
        False,
    )
    assert (second.user_id, second.session_id, second.app_type, second.error) == (None, "sess-1", "web", True)
    assert first.request_id == "test"


async def test_a_customer_reports_as_themselves(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    user = await f.make_user(db)
    me = Viewer(role=Role.CUSTOMER, user_id=user.id)

    result = await gql(
        RECORD, {"input": {"events": [check(flag), check(flag, userId=user_gid(user.id))]}}, viewer=me
    )

    assert result.data["recordFlagUsage"]["recorded"] == 2
    assert [u.user_id for u in await stored(db)] == [user.id, user.id]


async def test_a_customer_cannot_report_for_someone_else(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    me, other = await f.make_user(db), await f.make_user(db)

    result = await gql(
        RECORD,
        {"input": {"events": [check(flag), check(flag, userId=user_gid(other.id))]}},
        viewer=Viewer(role=Role.CUSTOMER, user_id=me.id),
    )

    assert result.data["recordFlagUsage"]["userErrors"] == [
        {"field": "events.1.userId", "message": "You report your own checks only.", "code": "FORBIDDEN"}
    ]
    assert await stored(db) == []


BAD_CHECKS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown flag", {"flagKey": "no_such_flag"}, "flagKey", "NOT_FOUND"),
    ("blank flag key", {"flagKey": ""}, "flagKey", "REQUIRED"),
    ("too old", {"accessedAt": (AT - dt.timedelta(days=8)).isoformat()}, "accessedAt", "OUT_OF_RANGE"),
    ("in the future", {"accessedAt": (AT + dt.timedelta(days=1)).isoformat()}, "accessedAt", "OUT_OF_RANGE"),
    ("long session", {"sessionId": "s" * 129}, "sessionId", "TOO_LONG"),
    ("long variant", {"variantKey": "v" * 101}, "variantKey", "TOO_LONG"),
    ("negative time", {"responseTimeMs": -1.0}, "responseTimeMs", "OUT_OF_RANGE"),
    ("endless time", {"responseTimeMs": 60_001.0}, "responseTimeMs", "OUT_OF_RANGE"),
    ("unknown user", {"userId": user_gid(f.MISSING_ID)}, "userId", "NOT_FOUND"),
    ("not a user id", {"userId": relay.to_base64("Campaign", 1)}, "userId", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("changes", "field", "code"), [b[1:] for b in BAD_CHECKS], ids=[b[0] for b in BAD_CHECKS]
)
async def test_one_invalid_check_refuses_the_batch(
    db: AsyncSession, gql, changes: dict[str, Any], field: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    # given a batch whose second check is invalid
    flag = await f.make_feature_flag(db)

    result = await gql(
        RECORD, {"input": {"events": [check(flag), {**check(flag), **changes}]}}, viewer=SERVICE
    )

    # then it is named by its index and nothing is stored
    payload = result.data["recordFlagUsage"]
    assert payload["recorded"] == 0
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(f"events.1.{field}", code)]
    assert await stored(db) == []


async def test_more_than_500_checks_refuse_the_whole_call(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)

    result = await gql(RECORD, {"input": {"events": [check(flag)] * 501}}, viewer=SERVICE)

    assert result.data == {"recordFlagUsage": None}
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert await stored(db) == []


async def test_a_retry_with_the_same_key_stores_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)
    variables = {"input": {"events": [check(flag)] * 3, "idempotencyKey": "usage-1"}}

    first = await gql(RECORD, variables, viewer=SERVICE)
    second = await gql(RECORD, variables, viewer=SERVICE)

    assert first.data == second.data == {"recordFlagUsage": {"recorded": 3, "userErrors": []}}
    assert await db.scalar(select(func.count()).select_from(FlagUsage)) == 3


@pytest.mark.parametrize(
    "viewer",
    [ADMIN, MARKETER, ANALYST, MERCHANT, ANONYMOUS],
    ids=["admin", "marketer", "analyst", "merchant", "anonymous"],
)
async def test_only_the_app_and_services_report_usage(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db)

    result = await gql(RECORD, {"input": {"events": [check(flag)]}}, viewer=viewer)

    assert result.data == {"recordFlagUsage": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await stored(db) == []
