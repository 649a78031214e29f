"""evaluateFlags through GraphQL: whose id is hashed, determinism, keys, and its two statements.

Buckets used (resolvers.flags.bucketing, pinned by tests/resolvers/bucketing_cases.json), flag new_checkout:
user 1 -> 2, user 2 -> 66, session sess-a -> 6, session sess-b -> 96; a 10% rollout takes buckets 1-10.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.flags.support import ADMIN, SERVICE, without_seeded_flags
from tests.models import factories as f
from tests.support import codes, counting_on

EVALUATE = """
query ($context: FlagContextInput!, $keys: [String!]) {
  evaluateFlags(context: $context, keys: $keys) { key value variant variantValue reason errorCode }
}
"""
KEY = "new_checkout"


def _user(pk: int) -> str:
    return relay.to_base64("User", pk)


def _customer(user_id: int) -> Viewer:
    return Viewer(role=Role.CUSTOMER, user_id=user_id)


async def _evaluate(gql, viewer: Viewer, context: dict[str, object], keys: list[str] | None = None):  # type: ignore[no-untyped-def]
    result = await gql(EVALUATE, {"context": context, "keys": [KEY] if keys is None else keys}, viewer=viewer)
    assert result.errors is None, result.errors
    return result.data["evaluateFlags"]


@pytest.fixture
async def ten_percent(db: AsyncSession) -> None:
    """new_checkout rolled out to 10% of users, with two equal variants."""
    flag = await f.make_feature_flag(db, key=KEY, enabled=True, rollout_percentage=10)
    await f.make_feature_flag_rollout(
        db, flag_id=flag.id, variant_key="control", weight=500, variant_value="old"
    )
    await f.make_feature_flag_rollout(
        db, flag_id=flag.id, variant_key="treatment", weight=500, variant_value="new"
    )


@pytest.mark.usefixtures("ten_percent")
async def test_a_customer_is_always_bucketed_by_their_own_id(gql) -> None:  # type: ignore[no-untyped-def]
    # when customer 1 (inside the 10%) claims to be user 2 (outside), and customer 2 claims to be user 1
    inside = await _evaluate(gql, _customer(1), {"userId": _user(2), "sessionId": "sess-b"})
    outside = await _evaluate(gql, _customer(2), {"userId": _user(1), "sessionId": "sess-a"})

    # then each gets their own bucket: the userId and sessionId they sent change nothing
    assert inside == [
        {
            "key": KEY,
            "value": True,
            "variant": "treatment",
            "variantValue": "new",
            "reason": "SPLIT",
            "errorCode": None,
        }
    ]
    assert outside[0]["value"] is False and outside[0]["reason"] == "SPLIT"


@pytest.mark.usefixtures("ten_percent")
async def test_a_customer_sending_a_malformed_user_id_is_not_refused(gql) -> None:  # type: ignore[no-untyped-def]
    result = await _evaluate(gql, _customer(1), {"userId": "garbage"})
    assert result[0]["value"] is True


@pytest.mark.usefixtures("ten_percent")
async def test_staff_and_services_evaluate_for_the_user_they_name(gql) -> None:  # type: ignore[no-untyped-def]
    as_admin = await _evaluate(gql, ADMIN, {"userId": _user(1)})
    as_service = await _evaluate(gql, SERVICE, {"userId": _user(2)})

    assert as_admin[0]["value"] is True and as_admin[0]["variant"] == "treatment"
    assert as_service[0]["value"] is False


@pytest.mark.usefixtures("ten_percent")
async def test_staff_naming_something_else_than_a_user_is_bad_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(EVALUATE, {"context": {"userId": relay.to_base64("Campaign", 1)}}, viewer=ADMIN)
    assert codes(result) == {"BAD_USER_INPUT"}


@pytest.mark.usefixtures("ten_percent")
async def test_anonymous_callers_are_bucketed_by_session(gql) -> None:  # type: ignore[no-untyped-def]
    # when anonymous callers send sessions inside and outside the 10%, one also naming user 1 (inside)
    inside = await _evaluate(gql, ANONYMOUS, {"sessionId": "sess-a"})
    outside = await _evaluate(gql, ANONYMOUS, {"sessionId": "sess-b", "userId": _user(1)})
    no_session = await _evaluate(gql, ANONYMOUS, {})

    # then the session decides, the userId is ignored, and no session at all means off by default
    assert inside[0]["value"] is True and inside[0]["reason"] == "SPLIT"
    assert outside[0]["value"] is False and outside[0]["reason"] == "SPLIT"
    assert no_session == [
        {
            "key": KEY,
            "value": False,
            "variant": None,
            "variantValue": None,
            "reason": "DEFAULT",
            "errorCode": "TARGETING_KEY_MISSING",
        }
    ]


async def test_evaluation_is_deterministic(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a half rollout with three variants
    flag = await f.make_feature_flag(db, key="split_three", enabled=True, rollout_percentage=50)
    for key in ("a", "b", "c"):
        await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key=key, weight=333)

    # when forty sessions are evaluated twice, in separate requests
    async def run() -> list[dict[str, object]]:
        return [
            (await _evaluate(gql, ANONYMOUS, {"sessionId": f"s-{n}"}, ["split_three"]))[0] for n in range(40)
        ]

    first, second = await run(), await run()

    # then every session gets the same answer both times, and the answers are not all the same
    assert first == second
    assert {r["value"] for r in first} == {True, False}
    assert {r["variant"] for r in first if r["value"]} == {"a", "b", "c"}


async def test_a_targeted_segment_gets_its_variant(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    flag = await f.make_feature_flag(db, key="beta_ui", enabled=True, rollout_percentage=0)
    await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key="general", weight=1000)
    await f.make_feature_flag_rollout(
        db, flag_id=flag.id, variant_key="beta", weight=1000, user_segment="beta_testers", variant_value="{}"
    )

    targeted = await _evaluate(gql, _customer(9), {"segment": "beta_testers"}, ["beta_ui"])
    others = await _evaluate(gql, _customer(9), {"segment": "everyone_else"}, ["beta_ui"])

    assert targeted[0] == {
        "key": "beta_ui",
        "value": True,
        "variant": "beta",
        "variantValue": "{}",
        "reason": "TARGETING_MATCH",
        "errorCode": None,
    }
    assert others[0]["value"] is False


async def test_disabled_flags_and_unknown_keys(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_feature_flag(db, key="switched_off", enabled=False)
    await f.make_feature_flag(db, key="switched_on", enabled=True)

    # when asking for keys in a chosen order, one unknown and one repeated
    result = await _evaluate(
        gql, ANONYMOUS, {"sessionId": "s"}, ["switched_on", "missing_flag", "switched_off", "switched_on"]
    )

    # then they come back in that order, once each, the unknown one as FLAG_NOT_FOUND
    assert [(r["key"], r["value"], r["reason"], r["errorCode"]) for r in result] == [
        ("switched_on", True, "DEFAULT", None),
        ("missing_flag", False, "DEFAULT", "FLAG_NOT_FOUND"),
        ("switched_off", False, "DISABLED", None),
    ]


async def test_too_many_keys_are_refused(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(EVALUATE, {"context": {}, "keys": [f"k{n}" for n in range(201)]}, viewer=ANONYMOUS)
    assert codes(result) == {"BAD_USER_INPUT"}


@pytest.mark.parametrize("flags", [3, 15])
async def test_every_flag_costs_two_statements_in_all(db: AsyncSession, gql, flags: int) -> None:  # type: ignore[no-untyped-def]
    # given only these flags, each with two variants
    await without_seeded_flags(db)
    for n in range(flags):
        flag = await f.make_feature_flag(db, key=f"flag_{n:02}", enabled=True, rollout_percentage=50)
        for key in ("a", "b"):
            await f.make_feature_flag_rollout(db, flag_id=flag.id, variant_key=key, weight=500)

    # when all of them are evaluated
    async with counting_on(db) as statements:
        result = await gql(EVALUATE, {"context": {"sessionId": "s-1"}, "keys": None}, viewer=ANONYMOUS)

    # then one statement read the flags and one their rollouts
    assert result.errors is None, result.errors
    assert [r["key"] for r in result.data["evaluateFlags"]] == [f"flag_{n:02}" for n in range(flags)]
    assert len(statements) == 2, statements
