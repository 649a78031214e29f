"""assignVariant and recordConversion: sticky, deterministic assignments that respect the weights,
conversions counted atomically, every rule a userError with nothing written, and who may call them."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.experiments import Experiment, ExperimentAssignment, ExperimentVariant
from models.users import User
from resolvers.flags.bucketing import WeightedVariant, assign_experiment_variant
from tests.experiments.support import make_experiment
from tests.models import factories as f

SERVICE = Viewer(role=Role.SERVICE)
MARKETER = Viewer(role=Role.MARKETER, user_id=None)

ASSIGN = """
mutation ($input: AssignVariantInput!) {
  assignVariant(input: $input) {
    assignment { experimentKey variantKey variantName payload userId assignedAt conversions revenue }
    userErrors { field message code }
  }
}
"""
CONVERT = """
mutation ($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    assignment { variantKey conversions revenue lastConvertedAt }
    userErrors { field message code }
  }
}
"""
CREATE = """
mutation ($input: CreateExperimentInput!) {
  createExperiment(input: $input) { experiment { id } userErrors { field code } }
}
"""
START = "mutation ($id: ID!) { startExperiment(input: {id: $id}) { userErrors { code } } }"


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def _errors(payload: dict) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _assignments(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(ExperimentAssignment)) or 0)


async def _running(
    db: AsyncSession, weights: tuple[int, ...] = (500, 500)
) -> tuple[Experiment, list[ExperimentVariant]]:
    return await make_experiment(db, weights=weights, status="running")


def _expected(test: Experiment, variants: list[ExperimentVariant], user_id: int) -> str:
    weighted = [WeightedVariant(key=v.key, weight=v.weight) for v in sorted(variants, key=lambda v: v.id)]
    return assign_experiment_variant(experiment_key=test.key, user_id=user_id, variants=weighted).key


async def test_a_customer_is_assigned_once_by_the_bucketing_functions(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, variants = await _running(db, (300, 700))
    user = await f.make_user(db)
    customer = Viewer(role=Role.CUSTOMER, user_id=user.id)

    first = await gql(ASSIGN, {"input": {"experimentId": gid("Experiment", test.id)}}, viewer=customer)
    again = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user.id)}}, viewer=customer
    )

    assignment = first.data["assignVariant"]["assignment"]
    assert first.data["assignVariant"]["userErrors"] == []
    assert assignment["variantKey"] == _expected(test, variants, user.id)
    assert (assignment["experimentKey"], assignment["userId"]) == (test.key, gid("User", user.id))
    assert (assignment["conversions"], assignment["revenue"]) == (0, "0.00")
    assert again.data == first.data
    assert await _assignments(db) == 1
    # assignments are data, not configuration: no audit rows
    assert await db.scalar(select(func.count()).select_from(AuditLogEntry)) == 0


async def test_the_stored_assignment_wins_over_the_hash(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, variants = await _running(db)
    user = await f.make_user(db)
    other = next(v for v in variants if v.key != _expected(test, variants, user.id))
    await f.make_ab_test_assignment(db, test_id=test.id, variant_id=other.id, user_id=user.id)

    result = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user.id)}}, viewer=SERVICE
    )

    assert result.data["assignVariant"]["assignment"]["variantKey"] == other.key
    assert await _assignments(db) == 1


async def test_variants_are_hashed_in_the_order_they_were_created(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a test whose control comes second (the read API lists it first)
    arms = [
        {"key": "treatment", "name": "Treatment", "weight": 300},
        {"key": "control", "name": "Control", "weight": 700, "isControl": True},
    ]
    created = await gql(
        CREATE, {"input": {"key": "order-test", "name": "Order", "variants": arms}}, viewer=MARKETER
    )
    experiment_id = created.data["createExperiment"]["experiment"]["id"]
    await gql(START, {"id": experiment_id}, viewer=MARKETER)
    creation_order = [WeightedVariant("treatment", 300), WeightedVariant("control", 700)]
    display_order = [WeightedVariant("control", 700), WeightedVariant("treatment", 300)]
    users = [await f.make_user(db) for _ in range(40)]

    # when each user is assigned
    got = {}
    for user in users:
        result = await gql(
            ASSIGN, {"input": {"experimentId": experiment_id, "userId": gid("User", user.id)}}, viewer=SERVICE
        )
        got[user.id] = result.data["assignVariant"]["assignment"]["variantKey"]

    # then the creation order decided, and the display order would have decided otherwise for some
    def pick(order: list[WeightedVariant], user_id: int) -> str:
        return assign_experiment_variant(experiment_key="order-test", user_id=user_id, variants=order).key

    assert got == {u.id: pick(creation_order, u.id) for u in users}
    assert any(pick(display_order, u.id) != got[u.id] for u in users)


async def test_many_users_split_like_the_weights(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, variants = await _running(db, (200, 300, 500))
    n = 1000
    rows = [{"email": f"split-{i}@example.com", "name": "Split"} for i in range(n)]
    user_ids = list(await db.scalars(insert(User).returning(User.id), rows))

    counts: dict[str, int] = {}
    for user_id in user_ids:
        result = await gql(
            ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user_id)}}, viewer=SERVICE
        )
        key = result.data["assignVariant"]["assignment"]["variantKey"]
        assert key == _expected(test, variants, user_id)
        counts[key] = counts.get(key, 0) + 1

    # each share within 4 standard deviations of its weight (a false alarm about once in 16,000 runs;
    # the bucketing is deterministic, so this run's counts never change anyway)
    for variant in variants:
        p = variant.weight / 1000
        assert abs(counts.get(variant.key, 0) - n * p) < 4 * math.sqrt(n * p * (1 - p)), counts
    assert await _assignments(db) == n


async def test_a_customer_cannot_assign_someone_else(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, _ = await _running(db)
    me, other = await f.make_user(db), await f.make_user(db)

    result = await gql(
        ASSIGN,
        {"input": {"experimentKey": test.key, "userId": gid("User", other.id)}},
        viewer=Viewer(role=Role.CUSTOMER, user_id=me.id),
    )

    assert _errors(result.data["assignVariant"]) == [("userId", "FORBIDDEN")]
    assert await _assignments(db) == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [("draft", "INVALID_TRANSITION"), ("paused", "INVALID_TRANSITION"), ("completed", "INVALID_TRANSITION")],
)
async def test_only_running_tests_assign(db: AsyncSession, gql, status: str, code: str) -> None:  # type: ignore[no-untyped-def]
    test, _ = await make_experiment(db, status=status)
    user = await f.make_user(db)
    result = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user.id)}}, viewer=SERVICE
    )
    assert _errors(result.data["assignVariant"]) == [("experimentId", code)]
    assert await _assignments(db) == 0


@pytest.mark.parametrize(
    ("given", "viewer", "expected"),
    [
        ({"experimentKey": "no-such-test", "userId": "USER"}, SERVICE, ("experimentId", "NOT_FOUND")),
        (
            {"experimentId": gid("Experiment", f.MISSING_ID), "userId": "USER"},
            SERVICE,
            ("experimentId", "NOT_FOUND"),
        ),
        ({"experimentId": gid("Campaign", 1), "userId": "USER"}, SERVICE, ("experimentId", "NOT_FOUND")),
        ({"userId": "USER"}, SERVICE, ("experimentId", "INVALID")),
        (
            {"experimentKey": "KEY", "experimentId": "ID", "userId": "USER"},
            SERVICE,
            ("experimentId", "INVALID"),
        ),
        ({"experimentKey": "KEY"}, SERVICE, ("userId", "REQUIRED")),
        ({"experimentKey": "KEY", "userId": gid("User", f.MISSING_ID)}, SERVICE, ("userId", "NOT_FOUND")),
        ({"experimentKey": "KEY", "userId": gid("Merchant", 1)}, SERVICE, ("userId", "NOT_FOUND")),
        ({"experimentKey": "KEY", "userId": "ERASED"}, SERVICE, ("userId", "NOT_FOUND")),
        ({"experimentKey": "KEY", "userId": gid("User", 10**20)}, SERVICE, ("userId", "NOT_FOUND")),
        (
            {"experimentId": gid("Experiment", 10**20), "userId": "USER"},
            SERVICE,
            ("experimentId", "NOT_FOUND"),
        ),
    ],
    ids=[
        "unknown key",
        "unknown id",
        "not an experiment id",
        "no experiment",
        "id and key",
        "service without user",
        "unknown user",
        "not a user id",
        "erased user",
        "user id beyond bigint",
        "experiment id beyond bigint",
    ],
)
async def test_assign_input_problems(db: AsyncSession, gql, given: dict, viewer: Viewer, expected) -> None:  # type: ignore[no-untyped-def]
    test, _ = await _running(db)
    user = await f.make_user(db)
    erased = await f.make_user(db, email=None, name=None, deleted_at=f.T0)
    values = {
        "KEY": test.key,
        "ID": gid("Experiment", test.id),
        "USER": gid("User", user.id),
        "ERASED": gid("User", erased.id),
    }
    variables = {name: values.get(value, value) for name, value in given.items()}

    result = await gql(ASSIGN, {"input": variables}, viewer=viewer)

    assert result.errors is None, result.errors
    assert _errors(result.data["assignVariant"]) == [expected]
    assert await _assignments(db) == 0


@pytest.mark.parametrize(
    "viewer",
    [Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1), ANONYMOUS],
    ids=["merchant", "anonymous"],
)
async def test_merchants_and_anonymous_callers_are_not_assigned(
    db: AsyncSession, gql, viewer: Viewer
) -> None:  # type: ignore[no-untyped-def]
    test, _ = await _running(db)
    user = await f.make_user(db)
    result = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user.id)}}, viewer=viewer
    )
    assert result.data == {"assignVariant": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await _assignments(db) == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETER])
async def test_admins_and_marketers_assign_any_user_or_themselves(db: AsyncSession, gql, role: Role) -> None:  # type: ignore[no-untyped-def]
    test, _ = await _running(db)
    staff, user = await f.make_user(db, role=role.value), await f.make_user(db)
    viewer = Viewer(role=role, user_id=staff.id)

    theirs = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", user.id)}}, viewer=viewer
    )
    own = await gql(ASSIGN, {"input": {"experimentKey": test.key}}, viewer=viewer)

    assert theirs.data["assignVariant"]["assignment"]["userId"] == gid("User", user.id)
    assert own.data["assignVariant"]["assignment"]["userId"] == gid("User", staff.id)


@pytest.mark.parametrize("api_key", [False, True], ids=["analyst", "analyst API key"])
async def test_analysts_neither_assign_nor_convert(db: AsyncSession, gql, api_key: bool) -> None:  # type: ignore[no-untyped-def]
    test, user, target = await _assigned(db)
    stranger = await f.make_user(db)
    analyst = Viewer(
        role=Role.ANALYST, user_id=None if api_key else (await f.make_user(db, role="analyst")).id
    )

    assigned = await gql(
        ASSIGN, {"input": {"experimentKey": test.key, "userId": gid("User", stranger.id)}}, viewer=analyst
    )
    converted = await gql(CONVERT, {"input": {**target, "revenue": "1000000.00"}}, viewer=analyst)

    for result in (assigned, converted):
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert assigned.data == {"assignVariant": None} and converted.data == {"recordConversion": None}
    assert await _assignments(db) == 1
    assert await db.scalar(select(func.sum(ExperimentAssignment.revenue))) == Decimal("0")


async def test_a_users_conversions_and_revenue_are_theirs_admins_and_services_only(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    test, user, target = await _assigned(db)
    await gql(CONVERT, {"input": {**target, "revenue": "12.50"}}, viewer=SERVICE)
    marketer = Viewer(role=Role.MARKETER, user_id=(await f.make_user(db, role="marketer")).id)
    viewers = {
        "marketer": marketer,
        "admin": Viewer(role=Role.ADMIN, user_id=(await f.make_user(db, role="admin")).id),
        "service": SERVICE,
        "the user": Viewer(role=Role.CUSTOMER, user_id=user.id),
    }
    seen = {}
    for name, viewer in viewers.items():
        # Assigning again answers the stored assignment, with its figures.
        mine = viewer.role is Role.CUSTOMER
        result = await gql(
            ASSIGN, {"input": target if not mine else {"experimentKey": test.key}}, viewer=viewer
        )
        assignment = result.data["assignVariant"]["assignment"]
        codes = {(e.path[-1], e.extensions["code"]) for e in result.errors or []}
        seen[name] = (
            assignment["variantKey"] is not None,
            assignment["conversions"],
            assignment["revenue"],
            codes,
        )

    forbidden = {("conversions", "FORBIDDEN"), ("revenue", "FORBIDDEN")}
    assert seen == {
        "marketer": (True, None, None, forbidden),
        "admin": (True, 1, "12.50", set()),
        "service": (True, 1, "12.50", set()),
        "the user": (True, 1, "12.50", set()),
    }


async def _assigned(db: AsyncSession) -> tuple[Experiment, User, dict]:
    test, variants = await _running(db)
    user = await f.make_user(db)
    variant = variants[0]
    await f.make_ab_test_assignment(db, test_id=test.id, variant_id=variant.id, user_id=user.id)
    return test, user, {"experimentKey": test.key, "userId": gid("User", user.id)}


async def test_conversions_add_up(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, user, target = await _assigned(db)

    first = await gql(CONVERT, {"input": {**target, "revenue": "12.50"}}, viewer=SERVICE)
    second = await gql(CONVERT, {"input": {**target, "revenue": "7.25"}}, viewer=SERVICE)
    free = await gql(CONVERT, {"input": target}, viewer=Viewer(role=Role.ADMIN, user_id=None))

    assert first.data["recordConversion"]["assignment"]["conversions"] == 1
    assert second.data["recordConversion"]["assignment"]["revenue"] == "19.75"
    final = free.data["recordConversion"]["assignment"]
    assert (final["conversions"], final["revenue"]) == (3, "19.75")
    assert final["lastConvertedAt"] is not None
    row = await db.scalar(select(ExperimentAssignment).where(ExperimentAssignment.user_id == user.id))
    await db.refresh(row)
    assert (row.conversions, row.revenue) == (3, Decimal("19.75"))
    assert await db.scalar(select(func.count()).select_from(AuditLogEntry)) == 0


async def test_a_retried_conversion_with_a_key_counts_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    _, user, target = await _assigned(db)
    variables = {"input": {**target, "revenue": "5.00", "idempotencyKey": "purchase-77"}}

    first = await gql(CONVERT, variables, viewer=SERVICE)
    retry = await gql(CONVERT, variables, viewer=SERVICE)

    assert retry.data == first.data
    row = await db.scalar(select(ExperimentAssignment).where(ExperimentAssignment.user_id == user.id))
    await db.refresh(row)
    assert (row.conversions, row.revenue) == (1, Decimal("5.00"))


@pytest.mark.parametrize(
    ("revenue", "code"),
    [("-0.01", "OUT_OF_RANGE"), ("10000000000.00", "OUT_OF_RANGE"), ("1.005", "INVALID")],
)
async def test_revenue_must_be_cents_within_range(db: AsyncSession, gql, revenue: str, code: str) -> None:  # type: ignore[no-untyped-def]
    _, user, target = await _assigned(db)

    result = await gql(CONVERT, {"input": {**target, "revenue": revenue}}, viewer=SERVICE)

    assert result.errors is None, result.errors
    assert _errors(result.data["recordConversion"]) == [("revenue", code)]
    row = await db.scalar(select(ExperimentAssignment).where(ExperimentAssignment.user_id == user.id))
    await db.refresh(row)
    assert row.conversions == 0


async def test_a_revenue_that_is_not_a_finite_number_is_refused_at_the_boundary(
    db: AsyncSession, gql
) -> None:  # type: ignore[no-untyped-def]
    _, _, target = await _assigned(db)

    result = await gql(CONVERT, {"input": {**target, "revenue": "NaN"}}, viewer=SERVICE)

    assert result.data is None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert await db.scalar(select(func.sum(ExperimentAssignment.conversions))) == 0


async def test_a_total_beyond_numeric_12_2_is_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    _, user, target = await _assigned(db)
    await db.execute(
        update(ExperimentAssignment)
        .where(ExperimentAssignment.user_id == user.id)
        .values(revenue=Decimal("9999999999.00"))
    )

    result = await gql(CONVERT, {"input": {**target, "revenue": "1.00"}}, viewer=SERVICE)

    assert _errors(result.data["recordConversion"]) == [("revenue", "OUT_OF_RANGE")]


async def test_only_assigned_users_of_running_tests_convert(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test, _, target = await _assigned(db)
    stranger = await f.make_user(db)

    unassigned = await gql(CONVERT, {"input": {**target, "userId": gid("User", stranger.id)}}, viewer=SERVICE)
    test.status = "paused"
    await db.flush()
    paused = await gql(CONVERT, {"input": target}, viewer=SERVICE)
    missing = await gql(CONVERT, {"input": {**target, "experimentKey": "nope"}}, viewer=SERVICE)

    assert _errors(unassigned.data["recordConversion"]) == [("userId", "NOT_FOUND")]
    assert _errors(paused.data["recordConversion"]) == [("experimentId", "INVALID_TRANSITION")]
    assert _errors(missing.data["recordConversion"]) == [("experimentId", "NOT_FOUND")]
    assert await db.scalar(select(func.sum(ExperimentAssignment.conversions))) == 0


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.CUSTOMER, user_id=None),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        ANONYMOUS,
    ],
    ids=["customer", "merchant", "anonymous"],
)
async def test_customers_cannot_record_conversions(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    _, user, target = await _assigned(db)
    if viewer.role is Role.CUSTOMER:
        viewer = Viewer(role=Role.CUSTOMER, user_id=user.id)  # not even their own

    result = await gql(CONVERT, {"input": target}, viewer=viewer)

    assert result.data == {"recordConversion": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await db.scalar(select(func.sum(ExperimentAssignment.conversions))) == 0
