"""Parallel requests on separate connections: one stored assignment per user, conversions that add up,
and no assignment slipping into a test after its completion snapshot."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select
from strawberry import relay

from core.viewer import Role, Viewer
from models.experiments import Experiment, ExperimentAssignment, ExperimentResult
from tests.experiments.support import make_experiment
from tests.models import factories as f

ASSIGN = """
mutation ($input: AssignVariantInput!) {
  assignVariant(input: $input) {
    assignment { experimentKey variantKey userId assignedAt }
    userErrors { code }
  }
}
"""
CONVERT = """
mutation ($input: RecordConversionInput!) {
  recordConversion(input: $input) { assignment { conversions } userErrors { code } }
}
"""
COMPLETE = "mutation ($id: ID!) { completeExperiment(input: {id: $id}) { userErrors { code } } }"
SERVICE = Viewer(role=Role.SERVICE)


async def _running_test_and_users(live, users: int) -> tuple[Experiment, list[int]]:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session:
        test, _ = await make_experiment(session, weights=(500, 500), status="running")
        ids = [(await f.make_user(session)).id for _ in range(users)]
        await session.commit()
    return test, ids


async def _open_connections(live, count: int) -> None:  # type: ignore[no-untyped-def]
    """Fill the pool first, so connecting does not decide which request runs first."""

    async def touch() -> None:
        async with live.sessionmaker() as session:
            await session.execute(select(1))
            await asyncio.sleep(0.05)

    await asyncio.gather(*(touch() for _ in range(count)))


async def test_twenty_parallel_assignments_of_one_user_store_one(live) -> None:  # type: ignore[no-untyped-def]
    # given a running test and a customer
    test, (user_id,) = await _running_test_and_users(live, 1)
    customer = Viewer(role=Role.CUSTOMER, user_id=user_id)

    # when the app asks for the customer's variant 20 times at once
    results = await asyncio.gather(
        *(live.execute(ASSIGN, {"input": {"experimentKey": test.key}}, viewer=customer) for _ in range(20))
    )

    # then every answer is the one stored assignment
    assert [r.errors for r in results] == [None] * 20
    answers = [r.data["assignVariant"] for r in results]
    assert all(a["userErrors"] == [] for a in answers)
    assert len({tuple(sorted(a["assignment"].items())) for a in answers}) == 1
    async with live.sessionmaker() as session:
        stored = (await session.scalars(select(ExperimentAssignment))).all()
    assert len(stored) == 1
    assert answers[0]["assignment"]["userId"] == relay.to_base64("User", user_id)


async def test_parallel_conversions_of_one_user_all_count(live) -> None:  # type: ignore[no-untyped-def]
    test, (user_id,) = await _running_test_and_users(live, 1)
    target = {"experimentKey": test.key, "userId": relay.to_base64("User", user_id)}
    await live.execute(ASSIGN, {"input": target}, viewer=SERVICE)

    results = await asyncio.gather(
        *(live.execute(CONVERT, {"input": {**target, "revenue": "1.25"}}, viewer=SERVICE) for _ in range(20))
    )

    assert [r.errors for r in results] == [None] * 20
    async with live.sessionmaker() as session:
        row = await session.scalar(select(ExperimentAssignment))
    assert (row.conversions, row.revenue) == (20, Decimal("25.00"))


async def test_no_assignment_lands_after_the_completion_snapshot(live) -> None:  # type: ignore[no-untyped-def]
    # given a running test and 20 users arriving while an admin completes it
    test, user_ids = await _running_test_and_users(live, 20)
    await _open_connections(live, 21)

    async def assign(position: int, user_id: int):  # type: ignore[no-untyped-def]
        # staggered, so some arrive before the completion and some after it
        await asyncio.sleep(position * 0.01)
        variables = {"input": {"experimentKey": test.key, "userId": relay.to_base64("User", user_id)}}
        return await live.execute(ASSIGN, variables, viewer=SERVICE)

    async def complete():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.095)
        variables = {"id": relay.to_base64("Experiment", test.id)}
        return await live.execute(COMPLETE, variables, viewer=Viewer(role=Role.ADMIN))

    assigns = [assign(i, u) for i, u in enumerate(user_ids)]
    results = await asyncio.gather(*assigns[:10], complete(), *assigns[10:])

    # then each assignment either happened before the snapshot (and is in it) or was refused
    assert results[10].data["completeExperiment"]["userErrors"] == []
    refused = [r for r in results if "assignVariant" in r.data and r.data["assignVariant"]["userErrors"]]
    assert all(r.data["assignVariant"]["userErrors"] == [{"code": "INVALID_TRANSITION"}] for r in refused)
    async with live.sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(ExperimentAssignment))
        in_snapshot = await session.scalar(select(func.sum(ExperimentResult.users_count)))
    assert stored == in_snapshot == 20 - len(refused)


CREATE = """
mutation ($input: CreateExperimentInput!) {
  createExperiment(input: $input) { experiment { id } userErrors { field code } }
}
"""


async def test_parallel_creates_with_one_key_make_one_test(live) -> None:  # type: ignore[no-untyped-def]
    arms = [
        {"key": "control", "name": "Control", "weight": 500, "isControl": True},
        {"key": "b", "name": "B", "weight": 500},
    ]
    marketer = Viewer(role=Role.MARKETER)

    results = await asyncio.gather(
        *(
            live.execute(
                CREATE, {"input": {"key": "same-key", "name": f"Try {i}", "variants": arms}}, viewer=marketer
            )
            for i in range(10)
        )
    )

    # one wins; the others are told the key is taken (never an internal error)
    assert [r.errors for r in results] == [None] * 10
    payloads = [r.data["createExperiment"] for r in results]
    assert sum(p["experiment"] is not None for p in payloads) == 1
    assert all(
        p["userErrors"] == [{"field": "key", "code": "TAKEN"}] for p in payloads if p["experiment"] is None
    )
    async with live.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Experiment)) == 1
