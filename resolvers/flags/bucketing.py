"""Deterministic bucketing of users into flag rollouts, flag variants and experiment variants.

The arithmetic is Unleash's, so a user lands in the same bucket here as in an Unleash SDK given the same
key and stickiness value. Matched against Unleash/unleash at commit e0c8ae14466bfb63412ca0fd309c9a5b54f78d04,
`src/lib/features/playground/feature-evaluator/strategy/util.ts` (normalizedValue, STRATEGY_SEED = 0,
VARIANT_SEED = 86028157) and `.../feature-evaluator/variant.ts` (selectVariantDefinition): the server's copy
of the unleash-client-node evaluator after the variant seed was introduced (unleash-node-sdk PR #533,
client specification 5.x). Pinned by tests/resolvers/bucketing_cases.json, which holds the expected
results of Unleash's own client specification and SDK tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mmh3

FLAG_SEED = 0
VARIANT_SEED = 86028157
WEIGHT_TOTAL = 1000
ROLLOUT_BUCKETS = 100


@dataclass(frozen=True)
class WeightedVariant:
    """A variant and its share of users, in tenths of a percent when weights total WEIGHT_TOTAL."""

    key: str
    weight: int


def normalized_hash(
    *, group_id: str, identifier: str, normalizer: int = ROLLOUT_BUCKETS, seed: int = 0
) -> int:
    """Return the bucket, 1..normalizer, of identifier within group_id."""
    if normalizer < 1:
        raise ValueError(f"normalizer must be at least 1, got {normalizer}")
    # Why this is stable across releases, processes and machines: MurmurHash3 x86_32 is a fixed published
    # algorithm with no per-process salt (unlike Python's hash()), its input is the UTF-8 bytes of
    # "groupId:identifier", and the 32-bit result is read unsigned, like murmurhash3js's `>>> 0`. The seed,
    # the separator and the modulus are part of every stored assignment: changing any of them moves users
    # between buckets, so they are constants of the data, not settings. (murmurhash3js hashes UTF-16 code
    # units truncated to a byte, so only ASCII keys agree with the Node SDK; the Python and Rust SDKs hash
    # UTF-8 like mmh3. Flag and experiment keys are ASCII slugs and identifiers are decimal ids.)
    return mmh3.hash(f"{group_id}:{identifier}", seed, signed=False) % normalizer + 1


def is_in_rollout(*, flag_key: str, stickiness: str, percentage: int) -> bool:
    """Return whether the user with this stickiness value falls inside the flag's rollout percentage."""
    if not 0 <= percentage <= 100:
        raise ValueError(f"percentage must be between 0 and 100, got {percentage}")
    # Unleash's flexibleRollout: no stickiness value means not enabled, and 0% is off for everyone.
    if not stickiness or percentage == 0:
        return False
    return normalized_hash(group_id=flag_key, identifier=stickiness, seed=FLAG_SEED) <= percentage


def select_variant(
    *, group_id: str, stickiness: str, variants: Sequence[WeightedVariant]
) -> WeightedVariant | None:
    """Return the variant the stickiness value falls in, or None when no variant has any weight."""
    if any(variant.weight < 0 for variant in variants):
        raise ValueError("variant weights must not be negative")
    total = sum(variant.weight for variant in variants)
    if total == 0:
        return None
    # VARIANT_SEED differs from FLAG_SEED so that the variant bucket is independent of the rollout bucket:
    # with one seed, users inside a 10% rollout would only reach 100 of the 1000 variant buckets. The
    # variants' order is part of the mapping, so callers must pass them in a stable order.
    target = normalized_hash(group_id=group_id, identifier=stickiness, normalizer=total, seed=VARIANT_SEED)
    counter = 0
    for variant in variants:
        if variant.weight == 0:
            continue
        counter += variant.weight
        if counter >= target:
            return variant
    return None


def assign_experiment_variant(
    *, experiment_key: str, user_id: int, variants: Sequence[WeightedVariant]
) -> WeightedVariant:
    """Return the variant of the experiment that the user is assigned to."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"user_id must be an int, got {type(user_id).__name__}")
    # "experimentKey:userId" with the user's internal id in decimal: the same string an Unleash SDK would
    # hash for a flag named after the experiment with userId stickiness.
    variant = select_variant(group_id=experiment_key, stickiness=str(user_id), variants=variants)
    if variant is None:
        raise ValueError("the experiment has no variant with a weight above 0")
    return variant


def validate_weights(weights: Sequence[int]) -> str | None:
    """Return why the weights are not integers 0..WEIGHT_TOTAL summing to WEIGHT_TOTAL, or None."""
    for position, weight in enumerate(weights, start=1):
        if isinstance(weight, bool) or not isinstance(weight, int):
            return f"weight {position} must be an integer, got {weight!r}"
        if not 0 <= weight <= WEIGHT_TOTAL:
            return f"weight {position} must be between 0 and {WEIGHT_TOTAL}, got {weight}"
    total = sum(weights)
    if total != WEIGHT_TOTAL:
        return f"weights must sum to {WEIGHT_TOTAL} (tenths of a percent), got {total}"
    return None
