"""A viewer's own assignments: the root list for the apps and `myAssignment` on an experiment."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from tests.experiments.support import make_experiment
from tests.models import factories as f

MINE = "{ myExperimentAssignments { experimentKey variantKey assignedAt } }"
MY_ASSIGNMENT = "query ($id: ID!) { experiment(id: $id) { myAssignment { experimentKey variantKey } } }"


async def test_customer_sees_only_their_own_assignments(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a customer assigned in two tests, and another customer in one of them
    me, other = await f.make_user(db), await f.make_user(db)
    first, (_, first_variant) = await make_experiment(db, status="running")
    second, (second_control, _) = await make_experiment(db, status="completed")
    later = f.T0 + dt.timedelta(days=3)
    await f.make_ab_test_assignment(
        db, test_id=first.id, variant_id=first_variant.id, user_id=me.id, assigned_at=f.T0
    )
    await f.make_ab_test_assignment(
        db, test_id=second.id, variant_id=second_control.id, user_id=me.id, assigned_at=later
    )
    await f.make_ab_test_assignment(db, test_id=first.id, variant_id=first_variant.id, user_id=other.id)

    # when the customer asks for their assignments
    result = await gql(MINE, viewer=Viewer(role=Role.CUSTOMER, user_id=me.id))

    # then exactly their two come back, newest first
    assert result.errors is None, result.errors
    assert result.data["myExperimentAssignments"] == [
        {"experimentKey": second.key, "variantKey": "control", "assignedAt": later.isoformat()},
        {"experimentKey": first.key, "variantKey": "variant_a", "assignedAt": f.T0.isoformat()},
    ]


async def test_viewer_without_assignments_gets_an_empty_list(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    user = await f.make_user(db)
    result = await gql(MINE, viewer=Viewer(role=Role.CUSTOMER, user_id=user.id))
    assert result.errors is None and result.data["myExperimentAssignments"] == []


@pytest.mark.parametrize("viewer", [ANONYMOUS, Viewer(role=Role.SERVICE)], ids=["anonymous", "service"])
async def test_viewers_without_an_account_are_refused(gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    result = await gql(MINE, viewer=viewer)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_staff_see_their_own_assignment_on_an_experiment(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a marketer who is also assigned in a test, and a test they are not in
    staff = await f.make_user(db, role="marketer")
    test, (_, variant) = await make_experiment(db, status="running")
    other, _ = await make_experiment(db, status="running")
    await f.make_ab_test_assignment(db, test_id=test.id, variant_id=variant.id, user_id=staff.id)
    viewer = Viewer(role=Role.MARKETER, user_id=staff.id)

    # when they read both experiments
    mine = await gql(MY_ASSIGNMENT, {"id": relay.to_base64("Experiment", test.id)}, viewer=viewer)
    none = await gql(MY_ASSIGNMENT, {"id": relay.to_base64("Experiment", other.id)}, viewer=viewer)

    # then the one they are in shows their variant, the other null
    assert mine.errors is None, mine.errors
    assert mine.data["experiment"]["myAssignment"] == {"experimentKey": test.key, "variantKey": "variant_a"}
    assert none.errors is None and none.data["experiment"]["myAssignment"] is None
