"""Result snapshots: an experiment's live statistics, exactly as the read API computes them, stored in
ab_test_results (one row per variant, upserted on (test_id, variant_id)).

A snapshot is taken when a test completes (it is then the test's result) and on demand, by the
recomputeExperimentResults mutation or `python server.py recompute-results`, for tests still running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.changes import wrote_keys
from core.context import RequestContext
from core.settings import get_settings
from core.viewer import Role, Viewer
from loaders.base import Loader
from loaders.experiments import (
    ExperimentByIdLoader,
    ResultSnapshotsByExperimentLoader,
    VariantsByExperimentLoader,
    VariantTotalsByExperimentLoader,
)
from models.experiments import Experiment, ExperimentResult, ExperimentStatus, ExperimentVariant
from resolvers.experiments.reads import ExperimentPlan, ExperimentResults, live_results, snapshot_results
from resolvers.outcomes import Outcome, ProblemCode

V = TypeVar("V")
S = ExperimentStatus
# Without --experiment the command refreshes the tests whose data can still change.
RECOMPUTED_BY_DEFAULT = (S.RUNNING.value, S.PAUSED.value)
# Experiments analysed per statement pair (variants, totals): bounds the memory of one batch.
BATCH = 200
SYSTEM = Viewer(role=Role.ADMIN)
UPDATED_COLUMNS = (
    "computed_at", "users_count", "converted_users", "conversions", "conversion_rate", "revenue",
    "revenue_per_user", "uplift", "ci_lower", "ci_upper", "p_value", "p_value_adjusted", "revenue_p_value",
    "srm_p_value", "sample_size_required", "is_significant", "winner",
)  # fmt: skip


class UnknownExperiments(LookupError):
    """Some experiment keys given to recompute_results name no experiment."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(f"no experiment with key {', '.join(sorted(keys))}")
        self.keys = tuple(keys)


async def _batch(loader: type[Loader[int, V]], session: AsyncSession, keys: list[int]) -> list[V]:
    """Run a read loader's one statement on this session: the write's own transaction sees its writes."""
    context = RequestContext(
        request=None, settings=get_settings(), sessionmaker=None, redis=None, viewer=SYSTEM, session=session
    )
    return await loader(context).load_batch(session, keys)


def plan_of(experiment: Experiment) -> ExperimentPlan:
    """What the analysis needs from the test's row."""
    return ExperimentPlan(
        status=experiment.status,
        confidence_level=experiment.confidence_level,
        min_statistical_power=experiment.min_statistical_power,
        baseline_rate=experiment.baseline_rate,
        minimum_detectable_effect=experiment.minimum_detectable_effect,
    )


def _rows(
    test_id: int, variants: Sequence[ExperimentVariant], results: ExperimentResults
) -> list[dict[str, Any]]:
    ids = {v.key: v.id for v in variants}
    srm_p = results.sample_ratio.p_value if results.sample_ratio is not None else None
    return [
        {
            "test_id": test_id,
            "variant_id": ids[r.key],
            "computed_at": results.computed_at,
            "users_count": r.users,
            "converted_users": r.converted_users,
            "conversions": r.conversions,
            # The columns are NOT NULL: a variant without users stores 0, read back as null (no users).
            "conversion_rate": r.conversion_rate or 0.0,
            "revenue": r.revenue,
            "revenue_per_user": float(r.revenue_per_user or 0),
            "uplift": r.uplift,
            "ci_lower": r.ci_lower,
            "ci_upper": r.ci_upper,
            "p_value": r.p_value,
            "p_value_adjusted": r.p_value_adjusted,
            "revenue_p_value": r.revenue_p_value,
            "srm_p_value": srm_p,
            "sample_size_required": results.required_sample_size,
            "is_significant": r.is_significant,
            "winner": results.winner is not None and r.key == results.winner,
        }
        for r in results.variants
    ]


async def store_results(
    session: AsyncSession, *, experiments: Sequence[Experiment], computed_at: dt.datetime
) -> dict[int, list[ExperimentResult]]:
    """Compute the experiments' live results and upsert them; returns the stored rows per experiment."""
    stored: dict[int, list[ExperimentResult]] = {}
    for start in range(0, len(experiments), BATCH):
        chunk = list(experiments[start : start + BATCH])
        ids = [e.id for e in chunk]
        all_variants = await _batch(VariantsByExperimentLoader, session, ids)
        all_totals = await _batch(VariantTotalsByExperimentLoader, session, ids)
        rows: list[dict[str, Any]] = []
        for experiment, variants, totals in zip(chunk, all_variants, all_totals, strict=True):
            results = live_results(
                plan=plan_of(experiment), variants=variants, totals=totals, computed_at=computed_at
            )
            rows.extend(_rows(experiment.id, variants, results))
        if rows:
            # One statement in (test_id, variant_id) order: two concurrent recomputes lock rows in the same
            # order, so they wait for each other instead of deadlocking.
            rows.sort(key=lambda r: (r["test_id"], r["variant_id"]))
            statement = insert(ExperimentResult).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ExperimentResult.test_id, ExperimentResult.variant_id],
                    set_={c: statement.excluded[c] for c in UPDATED_COLUMNS},
                )
            )
            wrote_keys(session, ExperimentResult.__tablename__, "test_id", {r["test_id"] for r in rows})
        for row in rows:
            stored.setdefault(row["test_id"], []).append(ExperimentResult(**row))
    return stored


async def recompute_results(
    session: AsyncSession, *, experiment_keys: Sequence[str] | None = None, now: dt.datetime | None = None
) -> int:
    """Store the live results of these experiments (default: running and paused); returns how many.

    Runs in the caller's transaction. Drafts have no results and are skipped; unknown keys raise
    UnknownExperiments before anything is written.
    """
    # FOR SHARE: a test completing meanwhile waits, so its snapshot is written after this one, not under it.
    query = select(Experiment).order_by(Experiment.id).with_for_update(read=True)
    if experiment_keys is None:
        query = query.where(Experiment.status.in_(RECOMPUTED_BY_DEFAULT))
    else:
        query = query.where(Experiment.key.in_(list(experiment_keys)))
    experiments = list(await session.scalars(query))
    if experiment_keys is not None:
        missing = set(experiment_keys) - {e.key for e in experiments}
        if missing:
            raise UnknownExperiments(sorted(missing))
    chosen = [e for e in experiments if e.status != S.DRAFT.value]
    await store_results(session, experiments=chosen, computed_at=now or dt.datetime.now(dt.UTC))
    return len(chosen)


async def recompute_experiment(
    *, session: AsyncSession, experiment_id: int, now: dt.datetime
) -> Outcome[tuple[Experiment, ExperimentResults]]:
    """Store one experiment's live results and return them as stored."""
    experiment = await session.scalar(
        select(Experiment).where(Experiment.id == experiment_id).with_for_update(read=True)
    )
    if experiment is None:
        return Outcome.one_problem("id", "No such experiment.", ProblemCode.NOT_FOUND)
    if experiment.status == S.DRAFT.value:
        return Outcome.one_problem("id", "A draft has no results yet.", ProblemCode.INVALID_TRANSITION)
    stored = (await store_results(session, experiments=[experiment], computed_at=now)).get(experiment.id)
    if not stored:
        return Outcome.one_problem("id", "The experiment has no variants.", ProblemCode.INVALID)
    (variants,) = await _batch(VariantsByExperimentLoader, session, [experiment.id])
    results = snapshot_results(variants=variants, snapshots=stored)
    return Outcome(value=(experiment, results), ref=("Experiment", experiment.id))


async def stored_results(
    context: RequestContext, ref: dict[str, Any]
) -> tuple[Experiment, ExperimentResults] | None:
    """The experiment and its stored snapshot, for replaying a recompute; None when either is gone."""
    experiment_id = int(ref["id"])
    experiment = await context.loader(ExperimentByIdLoader).load(experiment_id)
    if experiment is None:
        return None
    variants = await context.loader(VariantsByExperimentLoader).load(experiment_id)
    snapshots = await context.loader(ResultSnapshotsByExperimentLoader).load(experiment_id)
    if not snapshots:
        return None
    return experiment, snapshot_results(variants=variants, snapshots=snapshots)
