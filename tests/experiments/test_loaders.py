"""Each experiment loader answers several keys with one statement, and a list of experiments with
every relation costs the same statements at any page size."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import RequestContext
from core.settings import Settings
from core.viewer import Role, Viewer
from loaders.experiments import (
    AssignedUsersByExperimentLoader,
    AssignmentsByUserLoader,
    ExperimentByIdLoader,
    ExperimentsByCampaignLoader,
    ResultSnapshotsByExperimentLoader,
    VariantsByExperimentLoader,
    VariantTotalsByExperimentLoader,
)
from tests.experiments.support import ADMIN, assign, make_experiment
from tests.models import factories as f
from tests.support import counting

LIST = """
query ($first: Int!) {
  experiments(first: $first) {
    totalCount
    edges { node {
      key campaign { name } myAssignment { variantKey }
      variants { key assignedUsers }
      results { source winner sampleRatioMismatch { pValue } variants { key users pValue } }
    } }
  }
}
"""


def _context(db: AsyncSession, settings: Settings, viewer: Viewer = ADMIN) -> RequestContext:
    return RequestContext(
        request=None, settings=settings, sessionmaker=None, redis=None, viewer=viewer, session=db
    )


async def _experiments(db: AsyncSession, pairs: int = 1):  # type: ignore[no-untyped-def]
    """Pairs of a running test and a completed one with a snapshot, all of one campaign."""
    campaign = await f.make_campaign(db)
    made = []
    for status in ("running", "completed") * pairs:
        test, variants = await make_experiment(db, status=status, campaign_id=campaign.id)
        await assign(db, variants[0], 3, converted=1, revenue="2.00")
        await assign(db, variants[1], 2, converted=2, revenue="4.00")
        await f.make_ab_test_result(db, test_id=test.id, variant_id=variants[0].id)
        made.append((test, variants))
    return campaign, made


async def test_each_loader_batches_several_keys_into_one_statement(
    db: AsyncSession, settings: Settings
) -> None:
    # given two experiments of one campaign, with assignments and snapshots
    campaign, made = await _experiments(db)
    ids = [test.id for test, _ in made]
    ctx = _context(db, settings)

    # when each loader is asked for both experiments (or the campaign) at once
    with counting((await db.connection()).sync_connection) as statements:
        by_id = await ctx.loader(ExperimentByIdLoader).load_many([*ids, f.MISSING_ID])
        by_campaign = await ctx.loader(ExperimentsByCampaignLoader).load_many([campaign.id, f.MISSING_ID])
        variants = await ctx.loader(VariantsByExperimentLoader).load_many(ids)
        assigned = await ctx.loader(AssignedUsersByExperimentLoader).load_many(ids)
        totals = await ctx.loader(VariantTotalsByExperimentLoader).load_many(ids)
        snapshots = await ctx.loader(ResultSnapshotsByExperimentLoader).load_many(ids)

    # then each ran one statement, and the answers come back in key order
    assert len(statements) == 6, statements
    assert [row and row.id for row in by_id] == [*ids, None]
    assert [[t.id for t in tests] for tests in by_campaign] == [ids, []]
    assert [[v.key for v in vs] for vs in variants] == [["control", "variant_a"]] * 2
    for (_, (control, variant)), counts, sums in zip(made, assigned, totals, strict=True):
        assert counts == {control.id: 3, variant.id: 2}
        assert (sums[control.id].users, sums[control.id].converted_users) == (3, 1)
        assert sums[variant.id].revenue_sum == Decimal("8.00")
        assert sums[variant.id].revenue_sum_squares == Decimal("32.0000")
    assert [len(s) for s in snapshots] == [1, 1]


async def test_assignments_by_user_batches_and_shows_a_customer_only_their_own(
    db: AsyncSession, settings: Settings
) -> None:
    # given two users assigned in one test
    test, (control, _) = await make_experiment(db)
    me, other = await f.make_user(db), await f.make_user(db)
    for user in (me, other):
        await f.make_ab_test_assignment(db, test_id=test.id, variant_id=control.id, user_id=user.id)
    admin = _context(db, settings)
    customer = _context(db, settings, Viewer(role=Role.CUSTOMER, user_id=me.id))

    # when an admin loads both users' assignments at once, and the customer asks for both too
    with counting((await db.connection()).sync_connection) as statements:
        both = await admin.loader(AssignmentsByUserLoader).load_many([me.id, other.id])
    seen = await customer.loader(AssignmentsByUserLoader).load_many([me.id, other.id])

    # then one statement served the admin; the customer's SQL kept only their own row
    assert len(statements) == 1
    assert [[a.experiment_key for a in views] for views in both] == [[test.key], [test.key]]
    assert [len(views) for views in seen] == [1, 0]


async def test_experiments_are_invisible_to_non_staff_loaders(db: AsyncSession, settings: Settings) -> None:
    test = await f.make_ab_test(db)
    customer = _context(db, settings, Viewer(role=Role.CUSTOMER, user_id=1))
    assert await customer.loader(ExperimentByIdLoader).load(test.id) is None


@pytest.mark.parametrize("page_size", [2, 4])
async def test_experiment_list_statement_count_does_not_grow_with_rows(
    db: AsyncSession, gql, page_size: int
) -> None:  # type: ignore[no-untyped-def]
    # given running and completed experiments (newest first they alternate) with every relation
    await _experiments(db, pairs=2)

    # when a page of them is read with every nested field
    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(LIST, {"first": page_size}, viewer=ADMIN)

    # then the statements are a fixed set: page, count, campaign, assignments of the viewer, variants,
    # assigned users, snapshots, live totals
    assert result.errors is None, result.errors
    edges = result.data["experiments"]["edges"]
    assert len(edges) == page_size
    assert all(e["node"]["campaign"] and e["node"]["variants"][0]["assignedUsers"] == 3 for e in edges)
    assert len(statements) == 8, statements
