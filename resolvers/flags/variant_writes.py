"""Feature-flag variant writes: add, update, remove one variant, or replace a segment's group at once.

A flag's rollout rows form one group per user segment (NULL = every segment). After any change, the
ACTIVE variants of the group touched have integer weights 0..1000 summing to exactly 1000, or the group
has no active variant at all. `set_variants` replaces a group at once and is how a group of several
variants is built or re-weighted; a single add, update or remove is accepted only when the group it
leaves is valid. Rows whose key `set_variants` keeps keep their id, and with it their place in the
hashing order, so users stay in their variant while its weights stay. Locking is that of
resolvers/flags/writes.py, auditing that of resolvers/flags/audit_writes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.flags import FeatureFlag, FlagAuditAction, FlagRollout
from resolvers.audit import Actor, snapshot
from resolvers.flags.audit_writes import audit_variant
from resolvers.flags.bucketing import WEIGHT_TOTAL, validate_weights
from resolvers.flags.reads import VariantGroup
from resolvers.flags.validation import KEY_MAX, VARIANT_KEY_PATTERN, VARIANT_VALUE_MAX, variant_problems
from resolvers.flags.writes import FlagRef, lock_flag, no_such_flag, replay_ref
from resolvers.outcomes import Outcome, ProblemCode, Problems

A = FlagAuditAction
GROUP_MAX = 50
USE_SET = "Change several variants of a group at once with setFlagVariants."


@dataclass(frozen=True, slots=True)
class VariantSpec:
    variant_key: str
    weight: int
    variant_value: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class VariantPatch:
    """Changes to one variant; None leaves a field unchanged."""

    weight: int | None = None
    variant_value: str | None = None
    active: bool | None = None


def _check_variant(problems: Problems, spec: VariantSpec | VariantPatch, prefix: str = "") -> None:
    if isinstance(spec, VariantSpec):
        key = spec.variant_key
        problems.require_length(f"{prefix}variant_key", key, max_length=KEY_MAX, required=True)
        if key and len(key) <= KEY_MAX and not VARIANT_KEY_PATTERN.match(key):
            problems.add(
                f"{prefix}variant_key",
                "Letters, digits, '_', '.' and '-', starting with one of the first two.",
            )
    problems.require_length(f"{prefix}variant_value", spec.variant_value, max_length=VARIANT_VALUE_MAX)
    problems.require_range(f"{prefix}weight", spec.weight, low=0, high=WEIGHT_TOTAL)


def _check_group(
    problems: Problems, rows: Sequence[VariantSpec | FlagRollout], field: str, hint: str
) -> None:
    """The active variants of a group weigh exactly WEIGHT_TOTAL together, or there is none."""
    weights = [row.weight for row in rows if row.active]
    if any(not 0 <= weight <= WEIGHT_TOTAL for weight in weights):
        return  # already reported on the weight itself
    why = validate_weights(weights) if weights else None
    if why is not None:
        problems.add(
            field, f"The active variants of a segment must weigh {WEIGHT_TOTAL} in all: {why}. {hint}".strip()
        )


async def _group(session: AsyncSession, flag_id: int, segment: str | None) -> list[FlagRollout]:
    """The variants of one segment of a flag, in hashing (creation) order."""
    query = (
        select(FlagRollout)
        .where(FlagRollout.flag_id == flag_id, FlagRollout.user_segment.is_not_distinct_from(segment))
        .order_by(FlagRollout.id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def _added(
    session: AsyncSession,
    actor: Actor,
    flag: FeatureFlag,
    segment: str | None,
    spec: VariantSpec,
    reason: str | None,
) -> None:
    row = FlagRollout(
        flag_id=flag.id,
        user_segment=segment,
        variant_key=spec.variant_key,
        variant_value=spec.variant_value,
        weight=spec.weight,
        active=spec.active,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit_variant(
        session, actor=actor, flag=flag, action=A.VARIANT_ADD, row=row, before=None, reason=reason
    )


async def _updated(
    session: AsyncSession,
    actor: Actor,
    flag: FeatureFlag,
    row: FlagRollout,
    values: dict[str, Any],
    reason: str | None,
) -> bool:
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return False
    before = snapshot(row)
    for name, value in changed.items():
        setattr(row, name, value)
    await session.flush()
    await session.refresh(row)
    await audit_variant(
        session, actor=actor, flag=flag, action=A.VARIANT_UPDATE, row=row, before=before, reason=reason
    )
    return True


async def _removed(
    session: AsyncSession, actor: Actor, flag: FeatureFlag, row: FlagRollout, reason: str | None
) -> None:
    before = snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit_variant(
        session, actor=actor, flag=flag, action=A.VARIANT_REMOVE, row=row, before=before, reason=reason
    )


async def _result(
    session: AsyncSession, actor: Actor, flag: FeatureFlag, segment: str | None, changed: bool
) -> Outcome[VariantGroup]:
    if changed:
        # The flag's updated_at says when its configuration, variants included, last changed.
        flag.updated_by = actor.label
        flag.updated_at = func.now()
        await session.flush()
        await session.refresh(flag)
    rows = await _group(session, flag.id, segment)
    return Outcome(value=VariantGroup(flag=flag, segment=segment, rows=rows), ref=replay_ref(flag))


async def add_variant(
    *,
    session: AsyncSession,
    actor: Actor,
    ref: FlagRef,
    segment: str | None,
    variant: VariantSpec,
    reason: str | None = None,
) -> Outcome[VariantGroup]:
    """Add one variant to a segment, if the segment's active weights still total 1000 with it."""
    problems = variant_problems(segment, reason)
    _check_variant(problems, variant)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    rows = await _group(session, flag.id, segment)
    if any(row.variant_key == variant.variant_key for row in rows):
        return Outcome.one_problem("variant_key", "The segment has this variant.", ProblemCode.TAKEN)
    _check_group(problems, [*rows, variant], "weight", USE_SET)
    if problems:
        return Outcome.refused(problems)
    await _added(session, actor, flag, segment, variant, reason)
    return await _result(session, actor, flag, segment, changed=True)


async def update_variant(
    *,
    session: AsyncSession,
    actor: Actor,
    ref: FlagRef,
    segment: str | None,
    variant_key: str,
    patch: VariantPatch,
    reason: str | None = None,
) -> Outcome[VariantGroup]:
    """Change one variant's weight, value or activity, if its segment stays valid."""
    problems = variant_problems(segment, reason)
    _check_variant(problems, patch)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    rows = await _group(session, flag.id, segment)
    row = next((r for r in rows if r.variant_key == variant_key), None)
    if row is None:
        return Outcome.one_problem("variant_key", "The segment has no such variant.", ProblemCode.NOT_FOUND)
    values = {name: value for name, value in asdict(patch).items() if value is not None}
    proposed = VariantSpec(
        variant_key=variant_key,
        weight=row.weight if patch.weight is None else patch.weight,
        active=row.active if patch.active is None else patch.active,
    )
    _check_group(problems, [proposed if r is row else r for r in rows], "weight", USE_SET)
    if problems:
        return Outcome.refused(problems)
    changed = await _updated(session, actor, flag, row, values, reason)
    return await _result(session, actor, flag, segment, changed)


async def remove_variant(
    *,
    session: AsyncSession,
    actor: Actor,
    ref: FlagRef,
    segment: str | None,
    variant_key: str,
    reason: str | None = None,
) -> Outcome[VariantGroup]:
    """Remove one variant, if the segment's remaining active weights total 1000 (or none is left)."""
    problems = variant_problems(segment, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    rows = await _group(session, flag.id, segment)
    row = next((r for r in rows if r.variant_key == variant_key), None)
    if row is None:
        return Outcome.one_problem("variant_key", "The segment has no such variant.", ProblemCode.NOT_FOUND)
    _check_group(problems, [r for r in rows if r is not row], "variant_key", USE_SET)
    if problems:
        return Outcome.refused(problems)
    await _removed(session, actor, flag, row, reason)
    return await _result(session, actor, flag, segment, changed=True)


async def set_variants(
    *,
    session: AsyncSession,
    actor: Actor,
    ref: FlagRef,
    segment: str | None,
    variants: Sequence[VariantSpec],
    reason: str | None = None,
) -> Outcome[VariantGroup]:
    """Replace the variants of one segment at once (an empty list removes them all)."""
    problems = variant_problems(segment, reason)
    if len(variants) > GROUP_MAX:
        problems.add("variants", f"At most {GROUP_MAX} variants per segment.", ProblemCode.OUT_OF_RANGE)
    seen: set[str] = set()
    for position, spec in enumerate(variants):
        _check_variant(problems, spec, prefix=f"variants.{position}.")
        if spec.variant_key in seen:
            problems.add(f"variants.{position}.variant_key", "Each variant key once per segment.")
        seen.add(spec.variant_key)
    _check_group(problems, variants, "variants", "")
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    existing = {row.variant_key: row for row in await _group(session, flag.id, segment)}
    changed = False
    for key, row in existing.items():
        if key not in seen:
            await _removed(session, actor, flag, row, reason)
            changed = True
    for spec in variants:
        row = existing.get(spec.variant_key)
        if row is None:
            await _added(session, actor, flag, segment, spec, reason)
            changed = True
        else:
            values = {"weight": spec.weight, "variant_value": spec.variant_value, "active": spec.active}
            changed = await _updated(session, actor, flag, row, values, reason) or changed
    return await _result(session, actor, flag, segment, changed)
