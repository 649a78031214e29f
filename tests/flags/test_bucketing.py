"""Bucketing: named cases from bucketing_cases.json, then properties over 100,000 users."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import mmh3
import pytest
from scipy.stats import chisquare

from resolvers.flags.bucketing import (
    FLAG_SEED,
    VARIANT_SEED,
    WEIGHT_TOTAL,
    WeightedVariant,
    assign_experiment_variant,
    is_in_rollout,
    normalized_hash,
    select_variant,
    validate_weights,
)

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "bucketing_cases.json").read_text("utf-8"))
USERS = 100_000
MASK = 0xFFFFFFFF


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every `<section>_case` test once per named case of that section of the JSON file."""
    for name in metafunc.fixturenames:
        if name.endswith("_case"):
            cases = CASES[name.removesuffix("_case")]
            metafunc.parametrize(name, cases, ids=[case["name"] for case in cases])


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & MASK


def reference_murmur3_x86_32(data: bytes, seed: int) -> int:
    """MurmurHash3 x86_32 written from Appleby's reference, so a change in mmh3's semantics fails here."""
    h = seed & MASK
    blocks_end = len(data) - len(data) % 4
    for i in range(0, blocks_end, 4):
        k = _rotl(int.from_bytes(data[i : i + 4], "little") * 0xCC9E2D51 & MASK, 15) * 0x1B873593 & MASK
        h = (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & MASK
    if tail := data[blocks_end:]:
        h ^= _rotl(int.from_bytes(tail, "little") * 0xCC9E2D51 & MASK, 15) * 0x1B873593 & MASK
    h ^= len(data)
    h = (h ^ (h >> 16)) * 0x85EBCA6B & MASK
    h = (h ^ (h >> 13)) * 0xC2B2AE35 & MASK
    return h ^ (h >> 16)


def _variants(pairs: list[list[Any]]) -> list[WeightedVariant]:
    return [WeightedVariant(key=key, weight=weight) for key, weight in pairs]


def test_murmur3(murmur3_x86_32_case: dict[str, Any]) -> None:
    data, seed = murmur3_x86_32_case["data"], murmur3_x86_32_case["seed"]

    assert mmh3.hash(data, seed, signed=False) == murmur3_x86_32_case["expected"]
    assert reference_murmur3_x86_32(data.encode("utf-8"), seed) == murmur3_x86_32_case["expected"]


def test_normalized_hash(normalized_hash_case: dict[str, Any]) -> None:
    case = normalized_hash_case
    # The Unleash formula, evaluated with the reference hash rather than mmh3.
    by_formula = reference_murmur3_x86_32(f"{case['group_id']}:{case['identifier']}".encode(), case["seed"])

    result = normalized_hash(
        group_id=case["group_id"],
        identifier=case["identifier"],
        normalizer=case["normalizer"],
        seed=case["seed"],
    )

    assert result == case["expected"] == by_formula % case["normalizer"] + 1


def test_rollout(rollout_case: dict[str, Any]) -> None:
    result = is_in_rollout(
        flag_key=rollout_case["flag_key"],
        stickiness=rollout_case["stickiness"],
        percentage=rollout_case["percentage"],
    )

    assert result is rollout_case["expected"]


def test_variant(variants_case: dict[str, Any]) -> None:
    result = select_variant(
        group_id=variants_case["group_id"],
        stickiness=variants_case["stickiness"],
        variants=_variants(variants_case["variants"]),
    )

    assert (result.key if result else None) == variants_case["expected"]


def test_experiment_variant(experiments_case: dict[str, Any]) -> None:
    variants = _variants(experiments_case["variants"])

    result = assign_experiment_variant(
        experiment_key=experiments_case["experiment_key"],
        user_id=experiments_case["user_id"],
        variants=variants,
    )

    assert result.key == experiments_case["expected"]
    same_as_flag = select_variant(
        group_id=experiments_case["experiment_key"],
        stickiness=str(experiments_case["user_id"]),
        variants=variants,
    )
    assert same_as_flag == result


def test_weights(weights_case: dict[str, Any]) -> None:
    assert validate_weights(weights_case["weights"]) == weights_case["expected"]


def test_seeds_are_unleash_constants() -> None:
    assert (FLAG_SEED, VARIANT_SEED, WEIGHT_TOTAL) == (0, 86028157, 1000)


def test_the_same_user_always_gets_the_same_answer() -> None:
    variants = _variants([["control", 333], ["b", 333], ["c", 334]])

    first = [select_variant(group_id="exp", stickiness=str(user), variants=variants) for user in range(1000)]
    again = [select_variant(group_id="exp", stickiness=str(user), variants=variants) for user in range(1000)]

    assert first == again
    assert [is_in_rollout(flag_key="f", stickiness=str(u), percentage=30) for u in range(1000)] == [
        is_in_rollout(flag_key="f", stickiness=str(u), percentage=30) for u in range(1000)
    ]


def test_rollouts_grow_without_reshuffling() -> None:
    """Raising a rollout from 30% to 50% keeps everyone who already had the flag."""
    users = [str(user) for user in range(1, 10_001)]

    at_30 = {u for u in users if is_in_rollout(flag_key="new-onboarding", stickiness=u, percentage=30)}
    at_50 = {u for u in users if is_in_rollout(flag_key="new-onboarding", stickiness=u, percentage=50)}

    assert at_30 < at_50


def test_a_30_percent_rollout_reaches_30_percent_of_100k_users() -> None:
    enabled = sum(
        is_in_rollout(flag_key="loyalty-boost", stickiness=str(user), percentage=30)
        for user in range(1, USERS + 1)
    )

    assert abs(enabled / USERS - 0.30) <= 0.005


def test_the_100_buckets_are_uniform() -> None:
    counts = Counter(
        normalized_hash(group_id="loyalty-boost", identifier=str(u)) for u in range(1, USERS + 1)
    )

    assert sorted(counts) == list(range(1, 101))
    assert chisquare([counts[bucket] for bucket in range(1, 101)]).pvalue > 0.001


def test_variants_follow_their_weights() -> None:
    variants = _variants([["control", 333], ["b", 333], ["c", 334]])

    counts = Counter(
        assign_experiment_variant(experiment_key="pricing-page", user_id=user, variants=variants).key
        for user in range(1, USERS + 1)
    )

    for variant in variants:
        assert abs(counts[variant.key] / USERS - variant.weight / WEIGHT_TOTAL) <= 0.01
    assert (
        chisquare(
            [counts[v.key] for v in variants], [USERS * v.weight / WEIGHT_TOTAL for v in variants]
        ).pvalue
        > 0.001
    )


def test_variant_buckets_are_independent_of_the_rollout_bucket() -> None:
    """Why VARIANT_SEED exists: users inside a 10% rollout still spread over all 1000 variant buckets."""
    inside = [
        str(u)
        for u in range(1, USERS + 1)
        if is_in_rollout(flag_key="promo", stickiness=str(u), percentage=10)
    ]

    seeded = {
        normalized_hash(group_id="promo", identifier=u, normalizer=1000, seed=VARIANT_SEED) for u in inside
    }
    unseeded = {
        normalized_hash(group_id="promo", identifier=u, normalizer=1000, seed=FLAG_SEED) for u in inside
    }

    assert len(seeded) > 990
    assert len(unseeded) == 100


def test_zero_weight_variants_never_get_users() -> None:
    variants = _variants([["paused", 0], ["control", 500], ["treatment", 500], ["retired", 0]])

    keys = {select_variant(group_id="exp", stickiness=str(u), variants=variants).key for u in range(5000)}  # type: ignore[union-attr]

    assert keys == {"control", "treatment"}


@pytest.mark.parametrize("percentage", [-1, 101])
def test_a_percentage_outside_0_100_is_a_bug(percentage: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        is_in_rollout(flag_key="f", stickiness="1", percentage=percentage)


def test_an_experiment_needs_a_weighted_variant() -> None:
    with pytest.raises(ValueError, match="no variant"):
        assign_experiment_variant(experiment_key="e", user_id=1, variants=_variants([["a", 0]]))


def test_an_experiment_user_id_is_an_int() -> None:
    with pytest.raises(TypeError):
        assign_experiment_variant(experiment_key="e", user_id="1", variants=_variants([["a", 1000]]))  # type: ignore[arg-type]


def test_negative_weights_are_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        select_variant(group_id="g", stickiness="1", variants=_variants([["a", 1100], ["b", -100]]))
