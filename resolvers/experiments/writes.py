"""Experiment configuration writes: create, update and the lifecycle, each audited.

Once a test has left DRAFT its key, variants (keys, weights, control) and statistical plan are frozen:
bucketing hashes the key with the user id over the weights, so changing any of them would move users
between variants, and changing the plan after seeing data would move the goalposts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign
from models.experiments import Experiment, ExperimentStatus, ExperimentVariant
from resolvers.audit import Actor, record_change, snapshot
from resolvers.experiments import validation
from resolvers.experiments.recompute import store_results
from resolvers.outcomes import Outcome, ProblemCode, Problems

S = ExperimentStatus
TRANSITIONS: dict[ExperimentStatus, frozenset[ExperimentStatus]] = {
    S.DRAFT: frozenset({S.RUNNING, S.ARCHIVED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED}),
    S.PAUSED: frozenset({S.RUNNING, S.COMPLETED}),
    S.COMPLETED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}
DEFAULT_CONFIDENCE, DEFAULT_POWER = 95.0, 80.0
ENTITY = "experiment"
KEY_CONSTRAINT = "uq_ab_tests_key"


async def _check_refs(
    session: AsyncSession, values: dict[str, Any], experiment_id: int | None, problems: Problems
) -> None:
    campaign_id = values.get("campaign_id")
    if campaign_id is not None and await session.get(Campaign, campaign_id) is None:
        problems.add("campaign_id", "No such campaign.", ProblemCode.NOT_FOUND)
    key = values.get("key")
    if key is not None:
        other = await session.scalar(select(Experiment.id).where(Experiment.key == key))
        if other is not None and other != experiment_id:
            problems.add("key", "Another experiment has this key.", ProblemCode.TAKEN)


async def _flush_unless_taken(session: AsyncSession, apply: Callable[[], None]) -> bool:
    """Apply the changes and flush in a savepoint; False when a concurrent write took the key first."""
    try:
        async with session.begin_nested():
            apply()
            await session.flush()
    except IntegrityError as exc:
        if KEY_CONSTRAINT in str(exc.orig):
            return False
        raise
    return True


async def _variants(session: AsyncSession, experiment_id: int) -> list[ExperimentVariant]:
    # In id order: the order bucketing hashes them in (resolvers/experiments/assignment_writes.py).
    query = select(ExperimentVariant).where(ExperimentVariant.test_id == experiment_id)
    return list(await session.scalars(query.order_by(ExperimentVariant.id)))


async def _replace_variants(
    session: AsyncSession, experiment_id: int, variants: Sequence[validation.VariantFields]
) -> list[ExperimentVariant]:
    """Write the variants in the order given: their ids, hence the bucketing order, follow it."""
    await session.execute(delete(ExperimentVariant).where(ExperimentVariant.test_id == experiment_id))
    rows = [
        ExperimentVariant(test_id=experiment_id, **{f.name: getattr(v, f.name) for f in fields(v)})
        for v in variants
    ]
    for row in rows:
        session.add(row)
        # One flush per row: identities are then assigned in the given order.
        await session.flush()
    return rows


def _state(experiment: Experiment, variants: Sequence[ExperimentVariant]) -> dict[str, Any]:
    return {**snapshot(experiment), "variants": [snapshot(v) for v in variants]}


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    experiment: Experiment,
    before: dict[str, Any] | None,
    variants: Sequence[ExperimentVariant],
) -> Outcome[Experiment]:
    await session.refresh(experiment)
    for variant in variants:
        await session.refresh(variant)
    await record_change(
        session,
        actor=actor,
        action=f"{ENTITY}.{action}",
        entity_type=ENTITY,
        entity_id=experiment.id,
        before=before,
        after=_state(experiment, variants),
    )
    return Outcome(value=experiment, ref=("Experiment", experiment.id))


async def create_experiment(
    *, session: AsyncSession, actor: Actor, data: validation.ExperimentFields
) -> Outcome[Experiment]:
    """Create a draft experiment with its variants; the plan's sample size is computed."""
    values = {
        "confidence_level": DEFAULT_CONFIDENCE,
        "min_statistical_power": DEFAULT_POWER,
        **validation.given_fields(data),
    }
    problems = Problems()
    sample_size = validation.validate_experiment(values, problems)
    if data.variants is None:
        problems.add("variants", "Required.", ProblemCode.REQUIRED)
    else:
        validation.validate_variants(data.variants, problems)
    await _check_refs(session, values, None, problems)
    if problems or data.variants is None:
        return Outcome.refused(problems)
    experiment = Experiment(
        **values,
        status=S.DRAFT.value,
        sample_size=sample_size,
        created_by=actor.label,
        updated_by=actor.label,
    )
    if not await _flush_unless_taken(session, lambda: session.add(experiment)):
        return Outcome.one_problem("key", "Another experiment has this key.", ProblemCode.TAKEN)
    variants = await _replace_variants(session, experiment.id, data.variants)
    return await _audit(session, actor, "create", experiment, None, variants)


async def _locked(session: AsyncSession, experiment_id: int) -> Experiment | None:
    # FOR UPDATE: concurrent edits apply one after the other, and in-flight assignments and conversions
    # (which hold FOR SHARE) finish before a status change.
    return await session.scalar(select(Experiment).where(Experiment.id == experiment_id).with_for_update())


async def update_experiment(
    *, session: AsyncSession, actor: Actor, experiment_id: int, data: validation.ExperimentFields
) -> Outcome[Experiment]:
    """Change an experiment; after it has started only its names, texts and campaign."""
    experiment = await _locked(session, experiment_id)
    if experiment is None:
        return Outcome.one_problem("id", "No such experiment.", ProblemCode.NOT_FOUND)
    if experiment.status == S.ARCHIVED.value:
        return Outcome.one_problem(
            "id", "An archived experiment cannot be edited.", ProblemCode.INVALID_TRANSITION
        )
    variants = await _variants(session, experiment.id)
    draft = experiment.status == S.DRAFT.value
    problems = Problems()
    if not draft:
        for name in validation.frozen_changes(experiment, variants, data):
            problems.add(name, "Frozen once the test has started.", ProblemCode.INVALID_TRANSITION)
    changes = validation.given_fields(data)
    current = {
        f.name: getattr(experiment, f.name)
        for f in fields(validation.ExperimentFields)
        if f.name != "variants"
    }
    sample_size = validation.validate_experiment({**current, **changes}, problems)
    if data.variants is not None:
        validation.validate_variants(data.variants, problems)
    await _check_refs(session, changes, experiment.id, problems)
    if problems:
        return Outcome.refused(problems)
    before = _state(experiment, variants)

    def apply() -> None:
        for name, value in changes.items():
            setattr(experiment, name, value)
        if draft:
            experiment.sample_size = sample_size
        experiment.updated_by = actor.label

    if not await _flush_unless_taken(session, apply):
        return Outcome.one_problem("key", "Another experiment has this key.", ProblemCode.TAKEN)
    if data.variants is not None and draft:
        variants = await _replace_variants(session, experiment.id, data.variants)
    elif data.variants is not None:
        # Same arms: only their names, descriptions and payloads change, in place (assignments keep them).
        given = {v.key: v for v in data.variants}
        for variant in variants:
            new = given[variant.key]
            variant.name, variant.description, variant.payload = new.name, new.description, new.payload
        await session.flush()
    return await _audit(session, actor, "update", experiment, before, variants)


async def transition_experiment(
    *, session: AsyncSession, actor: Actor, experiment_id: int, target: ExperimentStatus, now: dt.datetime
) -> Outcome[Experiment]:
    """Move an experiment along its lifecycle; completing it stores its results snapshot."""
    experiment = await _locked(session, experiment_id)
    if experiment is None:
        return Outcome.one_problem("id", "No such experiment.", ProblemCode.NOT_FOUND)
    current = S(experiment.status)
    if target not in TRANSITIONS[current]:
        return Outcome.one_problem(
            "id",
            f"A {current.value} experiment cannot become {target.value}.",
            ProblemCode.INVALID_TRANSITION,
        )
    variants = await _variants(session, experiment.id)
    before = _state(experiment, variants)
    if target is S.RUNNING and current is S.DRAFT:
        if (why := validation.not_startable(variants)) is not None:
            return Outcome.one_problem("variants", why)
        if experiment.ends_at is not None and experiment.ends_at <= now:
            return Outcome.one_problem("id", "The planned end has passed.", ProblemCode.OUT_OF_RANGE)
        # The test starts now, whatever start was planned: assignments begin with this commit.
        if experiment.starts_at is None or experiment.starts_at > now:
            experiment.starts_at = now
    if target is S.COMPLETED and (experiment.ends_at is None or experiment.ends_at > now):
        started = experiment.starts_at or now
        experiment.ends_at = max(now, started + dt.timedelta(microseconds=1))
    experiment.status = target.value
    experiment.updated_by = actor.label
    await session.flush()
    if target is S.COMPLETED:
        # In the same transaction: the snapshot is the result a completed test is read with.
        await store_results(session, experiments=[experiment], computed_at=now)
    return await _audit(session, actor, target.value, experiment, before, variants)
