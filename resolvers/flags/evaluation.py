"""Feature-flag evaluation: which value and variant a flag gives one user, and why. No I/O.

Stickiness (the string that is hashed) is chosen by who asks:
- a viewer acting for someone else (staff, service) evaluates for the context's userId, else its
  sessionId: dashboards preview what a given user sees;
- any other viewer with an account (customers, merchant staff) is always bucketed by their own user id,
  whatever userId the client sends, so nobody can pick their bucket (by sessionId only if it has none);
- an anonymous viewer is bucketed by the context's sessionId (a userId it sends is ignored).
A user id is hashed as the internal id in decimal, as Unleash's userId stickiness does.

Rules, first match wins (reasons as in OpenFeature):
1. The flag is disabled: off, reason DISABLED.
2. The context's segment has active rollout rows of the flag: on, reason TARGETING_MATCH, whatever the
   rollout percentage; the variant is picked among those rows.
3. The rollout percentage is below 100:
   - no stickiness: off, reason DEFAULT, error TARGETING_KEY_MISSING (nothing to hash);
   - the stickiness falls inside the percentage: on, reason SPLIT, variant picked among the flag's
     general (segment-less) active rollout rows;
   - outside: off, reason SPLIT.
4. Rollout at 100: on; a variant picked among the general rows gives reason SPLIT, no variant to pick
   gives reason DEFAULT.
Variants are picked by bucketing.select_variant (Unleash's variant hashing, group id = flag key,
rows in creation order, zero weights never chosen). When there is a variant to pick but no stickiness,
none is picked and the error TARGETING_KEY_MISSING says why.
The app type and attributes of the context are not used by any rule yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.policies import EVALUATES_FOR_OTHERS
from core.viewer import Role
from resolvers.flags.bucketing import WeightedVariant, is_in_rollout, select_variant

FULL_ROLLOUT = 100
# Roles that may evaluate flags for a user other than themself.


class Reason(StrEnum):
    """Why a flag has its value (OpenFeature's resolution reasons)."""

    DISABLED = "DISABLED"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DEFAULT = "DEFAULT"


class EvaluationError(StrEnum):
    """What went wrong (OpenFeature's error codes); the value is then the default."""

    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"


@dataclass(frozen=True, slots=True)
class FlagConfig:
    key: str
    enabled: bool
    rollout_percentage: int


@dataclass(frozen=True, slots=True)
class RolloutConfig:
    """A variant row of a flag; `segment` None means it applies to every segment."""

    variant_key: str
    weight: int
    segment: str | None = None
    variant_value: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Evaluation:
    key: str
    value: bool
    reason: Reason
    variant: str | None = None
    variant_value: str | None = None
    error: EvaluationError | None = None


def uses_context_user_id(role: Role) -> bool:
    """Whether this role's evaluations follow the userId of the context (else it is ignored)."""
    return role in EVALUATES_FOR_OTHERS


def stickiness_for(
    *, role: Role, viewer_user_id: int | None, context_user_id: int | None, session_id: str | None
) -> str | None:
    """Return the value to hash for this viewer, or None when there is none."""
    if uses_context_user_id(role):
        user_id = context_user_id
    elif role is Role.ANONYMOUS:
        user_id = None
    else:
        user_id = viewer_user_id
    if user_id is not None:
        return str(user_id)
    return session_id or None


def flag_not_found(key: str) -> Evaluation:
    """Return the evaluation of a key no flag has: the default, off."""
    return Evaluation(key=key, value=False, reason=Reason.DEFAULT, error=EvaluationError.FLAG_NOT_FOUND)


def evaluate_flag(
    *, flag: FlagConfig, rollouts: Sequence[RolloutConfig], segment: str | None, stickiness: str | None
) -> Evaluation:
    """Return the flag's value, variant and reason for one user (rules in the module docstring)."""
    if not flag.enabled:
        return Evaluation(key=flag.key, value=False, reason=Reason.DISABLED)
    active = [r for r in rollouts if r.active]
    targeted = [r for r in active if segment and r.segment == segment]
    if targeted:
        return _with_variant(flag, targeted, stickiness, Reason.TARGETING_MATCH)
    general = [r for r in active if r.segment is None]
    if flag.rollout_percentage < FULL_ROLLOUT:
        if not stickiness:
            return _missing_key(flag, value=False)
        inside = is_in_rollout(flag_key=flag.key, stickiness=stickiness, percentage=flag.rollout_percentage)
        if not inside:
            return Evaluation(key=flag.key, value=False, reason=Reason.SPLIT)
        return _with_variant(flag, general, stickiness, Reason.SPLIT)
    return _with_variant(flag, general, stickiness, None)


def _missing_key(flag: FlagConfig, *, value: bool, reason: Reason = Reason.DEFAULT) -> Evaluation:
    return Evaluation(key=flag.key, value=value, reason=reason, error=EvaluationError.TARGETING_KEY_MISSING)


def _with_variant(
    flag: FlagConfig, rows: Sequence[RolloutConfig], stickiness: str | None, reason: Reason | None
) -> Evaluation:
    """On, with the variant the stickiness picks among rows; reason None means SPLIT if one is picked."""
    weighted = [r for r in rows if r.weight > 0]
    if not weighted:
        return Evaluation(key=flag.key, value=True, reason=reason or Reason.DEFAULT)
    if not stickiness:
        return _missing_key(flag, value=True, reason=reason or Reason.DEFAULT)
    variants = [WeightedVariant(key=r.variant_key, weight=r.weight) for r in weighted]
    chosen = select_variant(group_id=flag.key, stickiness=stickiness, variants=variants)
    # select_variant returns one of the objects it was given: find its row by identity.
    row = next((r for r, v in zip(weighted, variants, strict=True) if v is chosen), None)
    if row is None:
        return Evaluation(key=flag.key, value=True, reason=reason or Reason.DEFAULT)
    return Evaluation(
        key=flag.key,
        value=True,
        reason=reason or Reason.SPLIT,
        variant=row.variant_key,
        variant_value=row.variant_value,
    )
