"""A query over the cost limit is refused with its cost, before any SQL runs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from tests.limits.support import codes, run
from tests.support import counting

# users 1 + 10 x (edges 1 + node 1 + id 1 + transactions (1 + 5 x (edges 1 + node 1 + id 1 + amount 1))) = 241
NESTED = """
query Nested($n: Int!) {
  users(first: $n) { edges { node { id transactions(first: 5) { edges { node { id amount } } } } } }
}
"""
# Two nested pages of 100: 1 + 100 x (2 + 1 + 100 x 7) = 70,301, over the default limit of 50,000.
HUNDRED_BY_HUNDRED = """
{ users(first: 100) { edges { node { transactions(first: 100) {
    edges { node { id amount currency status occurredAt } } } } } } }
"""


async def test_over_the_cost_limit_nothing_reaches_the_database(db: AsyncSession, settings: Settings) -> None:
    # given a cost limit of 200, when a query costing 241 arrives
    small = settings.model_copy(update={"graphql_max_cost": 200})
    with counting((await db.connection()).sync_connection) as statements:
        result = await run(NESTED, {"n": 10}, db=db, settings=small)
    # then it is refused with its cost and the limit, and no statement ran
    assert result.data is None
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    error = result.errors[0]  # type: ignore[index]
    assert error.extensions["cost"] == 241  # type: ignore[index]
    assert error.extensions["maxCost"] == 200  # type: ignore[index]
    assert error.extensions["requestId"] == "limits-test"  # type: ignore[index]
    assert statements == []
    assert result.extensions["cost"]["requestedQueryCost"] == 241  # type: ignore[index]


async def test_under_the_cost_limit_the_query_runs(db: AsyncSession, settings: Settings) -> None:
    # given the same limit, when an admin asks for a smaller page (n = 5: 1 + 5 x 24 = 121)
    small = settings.model_copy(update={"graphql_max_cost": 200})
    admin = Viewer(role=Role.ADMIN)
    with counting((await db.connection()).sync_connection) as statements:
        result = await run(NESTED, {"n": 5}, db=db, settings=small, viewer=admin)
    # then it runs, and the counter sees its statements
    assert result.errors is None
    assert result.extensions["cost"]["requestedQueryCost"] == 121  # type: ignore[index]
    assert statements


async def test_two_nested_pages_of_a_hundred_exceed_the_default_limit(
    db: AsyncSession, settings: Settings
) -> None:
    result = await run(HUNDRED_BY_HUNDRED, db=db, settings=settings)
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert result.errors[0].extensions["cost"] == 70_301  # type: ignore[index]
    assert result.errors[0].extensions["maxCost"] == 50_000  # type: ignore[index]
