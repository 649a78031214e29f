"""Experiment configuration writes: create, update and the lifecycle, each audited.

Once a test has left DRAFT its key, variants (keys, weights, control) and statistical plan are frozen:
bucketing hashes the key with the user id over the weights, so changing any of them would move users
between variants, and changing the plan after seeing data would move the goalposts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign
from models.experiments import Experiment, ExperimentStatus, ExperimentVariant
from resolvers.audit import Actor, record_change, snapshot
from resolvers.experiments.recompute import store_results
from resolvers.experiments.statistics import required_sample_size
from resolvers.flags.bucketing import WEIGHT_TOTAL, validate_weights
from resolvers.outcomes import Outcome, ProblemCode, Problems

S = ExperimentStatus
TRANSITIONS: dict[ExperimentStatus, frozenset[ExperimentStatus]] = {
    S.DRAFT: frozenset({S.RUNNING, S.ARCHIVED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED}),
    S.PAUSED: frozenset({S.RUNNING, S.COMPLETED}),
    S.COMPLETED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}
SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")  # fullmatch: "$" would let a trailing newline through
KEY_MAX, NAME_MAX, TEXT_MAX, MAX_VARIANTS = 100, 255, 5000, 20
DEFAULT_CONFIDENCE, DEFAULT_POWER = 95.0, 80.0
INT_MAX = 2**31 - 1  # sample_size is an INTEGER column
PLAN = ("confidence_level", "min_statistical_power", "baseline_rate", "minimum_detectable_effect")
ENTITY = "experiment"
KEY_CONSTRAINT = "uq_ab_tests_key"


@dataclass(frozen=True, slots=True)
class VariantFields:
    key: str
    name: str
    weight: int
    is_control: bool = False
    description: str | None = None
    payload: Any = None


@dataclass(frozen=True, slots=True)
class ExperimentFields:
    """Writable fields; on update, None means "leave unchanged"."""

    key: str | None = None
    name: str | None = None
    description: str | None = None
    hypothesis: str | None = None
    campaign_id: int | None = None
    confidence_level: float | None = None
    min_statistical_power: float | None = None
    baseline_rate: float | None = None
    minimum_detectable_effect: float | None = None
    variants: tuple[VariantFields, ...] | None = None


def _given(data: ExperimentFields) -> dict[str, Any]:
    return {
        f.name: getattr(data, f.name)
        for f in fields(data)
        if f.name != "variants" and getattr(data, f.name) is not None
    }


def _check_key(problems: Problems, field: str, key: str | None) -> None:
    problems.require_length(field, key, max_length=KEY_MAX, required=True)
    if key and len(key) <= KEY_MAX and not SLUG.fullmatch(key):
        problems.add(field, "Lower-case letters, digits, '_', '.' and '-', starting with a letter or digit.")


def _open_range(problems: Problems, field: str, value: float | None, low: float, high: float | None) -> None:
    if value is None or (value > low and (high is None or value < high)):
        return
    bounds = f"above {low}" + ("" if high is None else f" and below {high}")
    problems.add(field, f"Must be {bounds}.", ProblemCode.OUT_OF_RANGE)


def _validate(values: dict[str, Any], problems: Problems) -> int | None:
    """Check the test's own fields; returns the users per variant its plan needs, when it has one."""
    _check_key(problems, "key", values.get("key"))
    problems.require_length("name", values.get("name"), max_length=NAME_MAX, required=True)
    problems.require_length("description", values.get("description"), max_length=TEXT_MAX)
    problems.require_length("hypothesis", values.get("hypothesis"), max_length=TEXT_MAX)
    before = len(problems.items)
    confidence, power = values["confidence_level"], values["min_statistical_power"]
    baseline, mde = values.get("baseline_rate"), values.get("minimum_detectable_effect")
    _open_range(problems, "confidence_level", confidence, 50, 100)
    _open_range(problems, "min_statistical_power", power, 0, 100)
    _open_range(problems, "baseline_rate", baseline, 0, 1)
    _open_range(problems, "minimum_detectable_effect", mde, 0, None)
    if baseline is None or mde is None or len(problems.items) > before:
        return None
    if baseline * (1 + mde) >= 1:
        problems.add(
            "minimum_detectable_effect",
            "Baseline × (1 + effect) must stay below 1.",
            ProblemCode.OUT_OF_RANGE,
        )
        return None
    size = required_sample_size(
        baseline_rate=baseline, minimum_detectable_effect=mde, power=power / 100, confidence=confidence / 100
    )
    if size > INT_MAX:
        problems.add("minimum_detectable_effect", "Too small an effect to detect.", ProblemCode.OUT_OF_RANGE)
        return None
    return size


def _validate_variants(variants: Sequence[VariantFields], problems: Problems) -> None:
    if not 2 <= len(variants) <= MAX_VARIANTS:
        problems.add("variants", f"Between 2 and {MAX_VARIANTS} variants.", ProblemCode.OUT_OF_RANGE)
    seen: set[str] = set()
    for i, v in enumerate(variants):
        _check_key(problems, f"variants.{i}.key", v.key)
        if v.key in seen:
            problems.add(f"variants.{i}.key", "Another variant has this key.", ProblemCode.TAKEN)
        seen.add(v.key)
        problems.require_length(f"variants.{i}.name", v.name, max_length=NAME_MAX, required=True)
        problems.require_length(f"variants.{i}.description", v.description, max_length=TEXT_MAX)
        problems.require_range(f"variants.{i}.weight", v.weight, low=0, high=WEIGHT_TOTAL)
        if v.payload is not None and not isinstance(v.payload, dict):
            problems.add(f"variants.{i}.payload", "Must be a JSON object.")
    if sum(v.is_control for v in variants) != 1:
        problems.add("variants", "Exactly one variant is the control.")
    in_range = all(0 <= v.weight <= WEIGHT_TOTAL for v in variants)
    if in_range and (why := validate_weights([v.weight for v in variants])) is not None:
        problems.add("variants", why.capitalize() + ".")


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
    session: AsyncSession, experiment_id: int, variants: Sequence[VariantFields]
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
    *, session: AsyncSession, actor: Actor, data: ExperimentFields
) -> Outcome[Experiment]:
    """Create a draft experiment with its variants; the plan's sample size is computed."""
    values = {"confidence_level": DEFAULT_CONFIDENCE, "min_statistical_power": DEFAULT_POWER, **_given(data)}
    problems = Problems()
    sample_size = _validate(values, problems)
    if data.variants is None:
        problems.add("variants", "Required.", ProblemCode.REQUIRED)
    else:
        _validate_variants(data.variants, problems)
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


def _frozen_changes(
    experiment: Experiment, variants: Sequence[ExperimentVariant], data: ExperimentFields
) -> list[str]:
    """The frozen fields this update would really change (sending the current value is allowed)."""
    changed = [
        name
        for name in ("key", *PLAN)
        if getattr(data, name) is not None and getattr(data, name) != getattr(experiment, name)
    ]
    if data.variants is not None:
        given = {(v.key, v.weight, v.is_control) for v in data.variants}
        current = {(v.key, v.weight, v.is_control) for v in variants}
        if len(data.variants) != len(variants) or given != current:
            changed.append("variants")
    return changed


async def update_experiment(
    *, session: AsyncSession, actor: Actor, experiment_id: int, data: ExperimentFields
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
        for name in _frozen_changes(experiment, variants, data):
            problems.add(name, "Frozen once the test has started.", ProblemCode.INVALID_TRANSITION)
    changes = _given(data)
    current = {f.name: getattr(experiment, f.name) for f in fields(ExperimentFields) if f.name != "variants"}
    sample_size = _validate({**current, **changes}, problems)
    if data.variants is not None:
        _validate_variants(data.variants, problems)
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


def _not_startable(variants: Sequence[ExperimentVariant]) -> str | None:
    if len(variants) < 2:
        return "A test needs at least two variants to start."
    if sum(v.is_control for v in variants) != 1:
        return "A test needs exactly one control variant to start."
    why = validate_weights([v.weight for v in variants])
    return None if why is None else why.capitalize() + "."


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
        if (why := _not_startable(variants)) is not None:
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
