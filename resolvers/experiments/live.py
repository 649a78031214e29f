"""What `experimentResults` listens to and shows: one experiment's results, computed again when its
assignments, conversions, variants, status or stored snapshot change."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.changes import any_key_tag, key_tag
from loaders.experiments import ExperimentByIdLoader
from models.experiments import Experiment, ExperimentAssignment, ExperimentResult, ExperimentVariant
from resolvers.experiments.reads import ExperimentResults, load_results
from resolvers.experiments.recompute import plan_of


def experiment_tags(experiment_id: int) -> list[str]:
    """Assignments, conversions and snapshots name the test's key (their statements say so, through
    core.changes.wrote_keys); the test's row and its variants are written as entities."""
    by_test = (ExperimentVariant, ExperimentAssignment, ExperimentResult)
    return [
        key_tag(Experiment.__tablename__, "id", experiment_id),
        any_key_tag(Experiment.__tablename__),
        *(key_tag(model.__tablename__, "test_id", experiment_id) for model in by_test),
    ]


async def visible_results(context: Any, experiment_id: int) -> ExperimentResults | None:
    """The results as the `results` field computes them; None when the viewer may not see the test."""
    row = await context.loader(ExperimentByIdLoader).load(experiment_id)
    if row is None:
        return None
    return await load_results(context=context, experiment_id=experiment_id, plan=plan_of(row))


def same_results(a: ExperimentResults, b: ExperimentResults) -> bool:
    """Whether two computations say the same thing (their time aside)."""
    return replace(a, computed_at=b.computed_at) == b
