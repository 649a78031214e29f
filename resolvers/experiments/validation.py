"""What an experiment's fields may hold: the writable fields and the checks that need no database.

The checks report every problem at once (a form shows them all), and the statistical plan is checked
to the point of computing the sample size it implies, which is stored with the test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from models.experiments import Experiment, ExperimentVariant
from resolvers.experiments.statistics import required_sample_size
from resolvers.flags.bucketing import WEIGHT_TOTAL, validate_weights
from resolvers.outcomes import ProblemCode, Problems

SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")  # fullmatch: "$" would let a trailing newline through
KEY_MAX, NAME_MAX, TEXT_MAX, MAX_VARIANTS = 100, 255, 5000, 20
INT_MAX = 2**31 - 1  # sample_size is an INTEGER column
PLAN = ("confidence_level", "min_statistical_power", "baseline_rate", "minimum_detectable_effect")


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


def given_fields(data: ExperimentFields) -> dict[str, Any]:
    """The fields given a value, variants apart: what a create sets and an update changes."""
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


def validate_experiment(values: dict[str, Any], problems: Problems) -> int | None:
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


def validate_variants(variants: Sequence[VariantFields], problems: Problems) -> None:
    """Check a test's arms: their number, keys, names, payloads, one control, weights summing to 1000."""
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


def frozen_changes(
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


def not_startable(variants: Sequence[ExperimentVariant]) -> str | None:
    """Why a draft with these variants cannot start; None when it can."""
    if len(variants) < 2:
        return "A test needs at least two variants to start."
    if sum(v.is_control for v in variants) != 1:
        return "A test needs exactly one control variant to start."
    why = validate_weights([v.weight for v in variants])
    return None if why is None else why.capitalize() + "."
