"""Experiment reads: the filtered list, and results either live from the assignments (the source of
truth while a test can still change) or from the snapshot stored when it completed.

The statistics live in statistics.py and analysis.py beside this module; this module only feeds them
and reads them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, select

from core.context import RequestContext
from core.viewer import Viewer
from loaders.base import Reader
from loaders.experiments import (
    EXPERIMENT_COLUMNS,
    ResultSnapshotsByExperimentLoader,
    VariantsByExperimentLoader,
    VariantTotals,
    VariantTotalsByExperimentLoader,
    experiments_visible_to,
)
from models.experiments import Experiment, ExperimentResult, ExperimentStatus, ExperimentVariant
from resolvers.experiments.analysis import VariantResult, VariantStats, analyse_experiment
from resolvers.experiments.statistics import SRM_THRESHOLD
from resolvers.pagination import Page, PageRequest, SortKey, paginate

CENT = Decimal("0.01")
NO_USERS = VariantTotals(0, 0, 0, Decimal(0), Decimal(0))
# A finished test no longer changes: its stored snapshot is the result. Until then the assignments are.
SNAPSHOT_STATUSES = frozenset({ExperimentStatus.COMPLETED, ExperimentStatus.ARCHIVED})
# Sizing inputs for a test that has none configured: analyse_experiment needs some, and they only feed
# the required sample size, which is then reported as unknown (no winner without it).
PLACEHOLDER_BASELINE, PLACEHOLDER_MDE = 0.5, 0.1


class ResultsSource(StrEnum):
    LIVE = "live"
    SNAPSHOT = "snapshot"


@dataclass(frozen=True, slots=True)
class ExperimentFilter:
    statuses: Sequence[str] = ()
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    """What the analysis needs from the test's row; levels in percent, as stored."""

    status: str
    confidence_level: float
    min_statistical_power: float
    baseline_rate: float | None
    minimum_detectable_effect: float | None


@dataclass(frozen=True, slots=True)
class SampleRatio:
    chi_square: float | None
    p_value: float | None
    mismatch: bool
    warning: str | None


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    computed_at: dt.datetime
    source: ResultsSource
    variants: tuple[VariantResult, ...]
    sample_ratio: SampleRatio | None
    required_sample_size: int | None
    winner: str | None
    winner_reason: str


def _filtered(viewer: Viewer, f: ExperimentFilter) -> Select[Any]:
    query = select(*EXPERIMENT_COLUMNS).where(experiments_visible_to(viewer))
    if f.statuses:
        query = query.where(Experiment.status.in_(f.statuses))
    if f.campaign_id is not None:
        query = query.where(Experiment.campaign_id == f.campaign_id)
    return query


async def list_experiments(
    *, session: Reader, viewer: Viewer, filter: ExperimentFilter, page: PageRequest
) -> tuple[Page[Row], Select[Any]]:
    """Return one page of experiments, newest first, and the filtered query for totalCount."""
    query = _filtered(viewer, filter)
    # ix_ab_tests_created_at_id serves the order and the keyset condition.
    key = SortKey(column=Experiment.created_at, id_column=Experiment.id, descending=True)
    return await paginate(session, query, key=key, page=page), query


async def load_results(
    *, context: RequestContext, experiment_id: int, plan: ExperimentPlan
) -> ExperimentResults:
    """Return the snapshot of a finished test if one was stored, else results live from the assignments."""
    variants_load = context.loader(VariantsByExperimentLoader).load(experiment_id)
    if plan.status in SNAPSHOT_STATUSES:
        snapshot_load = context.loader(ResultSnapshotsByExperimentLoader).load(experiment_id)
        variants, snapshots = await asyncio.gather(variants_load, snapshot_load)
        if snapshots:
            return snapshot_results(variants=variants, snapshots=snapshots)
    else:
        variants = await variants_load
    totals = await context.loader(VariantTotalsByExperimentLoader).load(experiment_id)
    return live_results(plan=plan, variants=variants, totals=totals, computed_at=dt.datetime.now(dt.UTC))


def variant_stats(
    *, variants: Sequence[ExperimentVariant], totals: dict[int, VariantTotals]
) -> list[VariantStats]:
    """Return each variant's totals in variant order; a variant nobody was assigned to counts zeros."""
    stats = []
    for variant in variants:
        t = totals.get(variant.id, NO_USERS)
        stats.append(
            VariantStats(
                key=variant.key,
                is_control=variant.is_control,
                users=t.users,
                converted_users=t.converted_users,
                conversions=t.conversions,
                revenue_sum=t.revenue_sum,
                revenue_sum_squares=t.revenue_sum_squares,
            )
        )
    return stats


def live_results(
    *,
    plan: ExperimentPlan,
    variants: Sequence[ExperimentVariant],
    totals: dict[int, VariantTotals],
    computed_at: dt.datetime,
) -> ExperimentResults:
    """Analyse the variants' live totals with the test's confidence, power and sizing."""
    stats = variant_stats(variants=variants, totals=totals)
    problem = _configuration_problem(variants)
    if problem is not None:
        figures = tuple(_figures(s) for s in stats)
        return ExperimentResults(computed_at, ResultsSource.LIVE, figures, None, None, None, problem)
    baseline, mde, sizing_problem = _sizing(plan)
    analysis = analyse_experiment(
        variants=stats,
        weights=[v.weight for v in variants],
        baseline_rate=baseline,
        minimum_detectable_effect=mde,
        confidence_level=plan.confidence_level / 100,
        power=plan.min_statistical_power / 100,
    )
    srm = analysis.sample_ratio
    sample_ratio = SampleRatio(
        # A user in a variant of weight 0 makes the statistic infinite, which JSON cannot carry.
        chi_square=srm.chi2 if srm.chi2 is not None and math.isfinite(srm.chi2) else None,
        p_value=srm.p_value,
        mismatch=srm.mismatch,
        warning=srm.reason if srm.mismatch else None,
    )
    variants_out = tuple(_per_user_in_cents(r) for r in analysis.variants)
    if sizing_problem:
        return ExperimentResults(
            computed_at, ResultsSource.LIVE, variants_out, sample_ratio, None, None, sizing_problem
        )
    return ExperimentResults(
        computed_at,
        ResultsSource.LIVE,
        variants_out,
        sample_ratio,
        analysis.required_sample_size,
        analysis.winner,
        analysis.reason,
    )


def snapshot_results(
    *, variants: Sequence[ExperimentVariant], snapshots: Sequence[ExperimentResult]
) -> ExperimentResults:
    """Read the stored snapshot back, in variant order (variants added after it are left out)."""
    by_variant = {s.variant_id: s for s in snapshots}
    pairs = [(v, by_variant[v.id]) for v in variants if v.id in by_variant]
    results = tuple(_snapshot_result(v, s) for v, s in pairs)
    srm_p = next((s.srm_p_value for s in snapshots if s.srm_p_value is not None), None)
    mismatch = srm_p is not None and srm_p < SRM_THRESHOLD
    warning = f"users split unlike the weights (p = {srm_p:.2g} < {SRM_THRESHOLD})" if mismatch else None
    required = next((s.sample_size_required for s in snapshots if s.sample_size_required is not None), None)
    winner = next((v.key for v, s in pairs if s.winner), None)
    reason = (
        f"{winner} was the winner when the results were computed"
        if winner
        else "no winner when the results were computed"
    )
    return ExperimentResults(
        computed_at=max(s.computed_at for s in snapshots),
        source=ResultsSource.SNAPSHOT,
        variants=results,
        sample_ratio=SampleRatio(chi_square=None, p_value=srm_p, mismatch=mismatch, warning=warning),
        required_sample_size=required,
        winner=winner,
        winner_reason=reason,
    )


def _configuration_problem(variants: Sequence[ExperimentVariant]) -> str | None:
    if not variants:
        return "the experiment has no variants"
    if sum(v.is_control for v in variants) != 1:
        return "the experiment needs exactly one control variant"
    if not any(v.weight for v in variants):
        return "every variant has weight 0"
    return None


def _sizing(plan: ExperimentPlan) -> tuple[float, float, str | None]:
    """Baseline rate and MDE to analyse with, and why they are placeholders when they are."""
    baseline, mde = plan.baseline_rate, plan.minimum_detectable_effect
    if baseline is None or mde is None:
        problem = "no baseline rate or minimum detectable effect: the required sample size is unknown"
        return PLACEHOLDER_BASELINE, PLACEHOLDER_MDE, problem
    if baseline * (1 + mde) >= 1:
        problem = "baseline rate × (1 + minimum detectable effect) reaches 1: the sample size is undefined"
        return PLACEHOLDER_BASELINE, PLACEHOLDER_MDE, problem
    return baseline, mde, None


def _figures(stats: VariantStats) -> VariantResult:
    """A variant's plain figures, with no comparison (the test cannot be analysed as configured)."""
    return _per_user_in_cents(
        VariantResult(
            key=stats.key,
            is_control=stats.is_control,
            users=stats.users,
            converted_users=stats.converted_users,
            conversions=stats.conversions,
            conversion_rate=stats.converted_users / stats.users if stats.users else None,
            revenue=stats.revenue_sum,
            revenue_per_user=stats.revenue_sum / stats.users if stats.users else None,
        )
    )


def _per_user_in_cents(result: VariantResult) -> VariantResult:
    per_user = result.revenue_per_user
    return result if per_user is None else replace(result, revenue_per_user=per_user.quantize(CENT))


def _snapshot_result(variant: ExperimentVariant, s: ExperimentResult) -> VariantResult:
    return VariantResult(
        key=variant.key,
        is_control=variant.is_control,
        users=s.users_count,
        converted_users=s.converted_users,
        conversions=s.conversions,
        conversion_rate=s.conversion_rate if s.users_count else None,
        revenue=s.revenue,
        revenue_per_user=Decimal(str(s.revenue_per_user)).quantize(CENT) if s.users_count else None,
        uplift=s.uplift,
        ci_lower=s.ci_lower,
        ci_upper=s.ci_upper,
        p_value=s.p_value,
        p_value_adjusted=s.p_value_adjusted,
        revenue_p_value=s.revenue_p_value,
        is_significant=s.is_significant,
    )
