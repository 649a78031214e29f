"""Experiment loaders: tests, their variants, assignment totals per variant, result snapshots and a
viewer's own assignments. Experiments are dashboard data; assignments are visible to their user."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Row, false, func, select, true

from core.policies import EXPERIMENT_READERS
from core.viewer import Role, Viewer
from loaders.base import Loader, Reader, many_per_key, one_per_key
from models.experiments import Experiment, ExperimentAssignment, ExperimentResult, ExperimentVariant

# What the GraphQL types and the results' analysis read of a row; test_id groups variants and snapshots.
EXPERIMENT_COLUMNS = (
    Experiment.id, Experiment.key, Experiment.name, Experiment.description, Experiment.hypothesis,
    Experiment.status, Experiment.starts_at, Experiment.ends_at, Experiment.confidence_level,
    Experiment.min_statistical_power, Experiment.baseline_rate, Experiment.minimum_detectable_effect,
    Experiment.sample_size, Experiment.created_at, Experiment.updated_at, Experiment.campaign_id,
)  # fmt: skip
VARIANT_COLUMNS = (
    ExperimentVariant.id, ExperimentVariant.test_id, ExperimentVariant.key, ExperimentVariant.name,
    ExperimentVariant.is_control, ExperimentVariant.weight,
)  # fmt: skip
SNAPSHOT_COLUMNS = (
    ExperimentResult.test_id, ExperimentResult.variant_id, ExperimentResult.computed_at,
    ExperimentResult.users_count, ExperimentResult.converted_users, ExperimentResult.conversions,
    ExperimentResult.conversion_rate, ExperimentResult.revenue, ExperimentResult.revenue_per_user,
    ExperimentResult.uplift, ExperimentResult.ci_lower, ExperimentResult.ci_upper, ExperimentResult.p_value,
    ExperimentResult.p_value_adjusted, ExperimentResult.revenue_p_value, ExperimentResult.srm_p_value,
    ExperimentResult.sample_size_required, ExperimentResult.is_significant, ExperimentResult.winner,
)  # fmt: skip


def experiments_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Staff see every experiment; nobody else sees any (customers see only their own assignments)."""
    return true() if viewer.role in EXPERIMENT_READERS else false()


def assignments_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Admins see every assignment; anyone else with an account only their own."""
    if viewer.role is Role.ADMIN:
        return true()
    if viewer.user_id is not None:
        return ExperimentAssignment.user_id == viewer.user_id
    return false()


@dataclass(frozen=True, slots=True)
class VariantTotals:
    """What one variant's users did, summed over their assignments (per-user revenue for Welch)."""

    users: int
    converted_users: int
    conversions: int
    revenue_sum: Decimal
    revenue_sum_squares: Decimal


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """A user's assignment with the keys the apps know the test and variant by."""

    experiment_id: int
    experiment_key: str
    variant_key: str
    assigned_at: dt.datetime


class ExperimentByIdLoader(Loader[int, Row | None]):
    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*EXPERIMENT_COLUMNS).where(
            Experiment.id.in_(keys), experiments_visible_to(self.viewer)
        )
        return one_per_key(keys, await session.execute(query), lambda r: r.id)


class ExperimentsByCampaignLoader(Loader[int, list[Row]]):
    # ix_ab_tests_campaign_id
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = (
            select(*EXPERIMENT_COLUMNS)
            .where(Experiment.campaign_id.in_(keys), experiments_visible_to(self.viewer))
            .order_by(Experiment.id)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.campaign_id)


class VariantsByExperimentLoader(Loader[int, list[Row]]):
    # uq_ab_test_variants_test_id_key leads with test_id; control first, then by key.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = (
            select(*VARIANT_COLUMNS)
            .where(ExperimentVariant.test_id.in_(keys))
            .order_by(ExperimentVariant.is_control.desc(), ExperimentVariant.key)
        )
        return many_per_key(keys, await session.execute(query), lambda r: r.test_id)


class AssignedUsersByExperimentLoader(Loader[int, dict[int, int]]):
    """Users assigned to each variant (variant id -> count) of each experiment."""

    # uq_ab_test_assignments_test_id_user_id leads with test_id.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[dict[int, int]]:
        query = (
            select(ExperimentAssignment.test_id, ExperimentAssignment.variant_id, func.count())
            .where(ExperimentAssignment.test_id.in_(keys))
            .group_by(ExperimentAssignment.test_id, ExperimentAssignment.variant_id)
        )
        counts: dict[int, dict[int, int]] = defaultdict(dict)
        for test_id, variant_id, users in await session.execute(query):
            counts[test_id][variant_id] = users
        return [counts.get(k, {}) for k in keys]


class VariantTotalsByExperimentLoader(Loader[int, dict[int, VariantTotals]]):
    """Live totals per variant (variant id -> totals), computed from the assignments."""

    # uq_ab_test_assignments_test_id_user_id leads with test_id. NUMERIC sums stay exact: the
    # sum of squares feeds a variance where floats would cancel.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[dict[int, VariantTotals]]:
        a = ExperimentAssignment
        query = (
            select(
                a.test_id,
                a.variant_id,
                func.count(),
                func.count().filter(a.conversions > 0),
                func.coalesce(func.sum(a.conversions), 0),
                func.coalesce(func.sum(a.revenue), 0),
                func.coalesce(func.sum(a.revenue * a.revenue), 0),
            )
            .where(a.test_id.in_(keys))
            .group_by(a.test_id, a.variant_id)
        )
        totals: dict[int, dict[int, VariantTotals]] = defaultdict(dict)
        for test_id, variant_id, users, converted, conversions, revenue, squares in await session.execute(
            query
        ):
            totals[test_id][variant_id] = VariantTotals(
                users=users,
                converted_users=converted,
                conversions=int(conversions),
                revenue_sum=Decimal(revenue),
                revenue_sum_squares=Decimal(squares),
            )
        return [totals.get(k, {}) for k in keys]


class ResultSnapshotsByExperimentLoader(Loader[int, list[Row]]):
    # uq_ab_test_results_test_id_variant_id leads with test_id.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[Row]]:
        query = select(*SNAPSHOT_COLUMNS).where(ExperimentResult.test_id.in_(keys))
        return many_per_key(keys, await session.execute(query), lambda r: r.test_id)


class AssignmentsByUserLoader(Loader[int, list[AssignmentView]]):
    """A user's assignments, newest first; only the viewer's own unless the viewer is an admin."""

    # ix_ab_test_assignments_user_id; a user has one assignment per experiment at most.
    async def load_batch(self, session: Reader, keys: list[int]) -> list[list[AssignmentView]]:
        a = ExperimentAssignment
        query = (
            select(a.user_id, a.test_id, Experiment.key, ExperimentVariant.key, a.assigned_at)
            .join(Experiment, Experiment.id == a.test_id)
            .join(ExperimentVariant, ExperimentVariant.id == a.variant_id)
            .where(a.user_id.in_(keys), assignments_visible_to(self.viewer))
            .order_by(a.assigned_at.desc(), a.id.desc())
        )
        grouped: dict[int, list[AssignmentView]] = defaultdict(list)
        for user_id, test_id, experiment_key, variant_key, assigned_at in await session.execute(query):
            grouped[user_id].append(AssignmentView(test_id, experiment_key, variant_key, assigned_at))
        return [grouped.get(k, []) for k in keys]
