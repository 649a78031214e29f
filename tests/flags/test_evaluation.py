"""Flag evaluation rules: named cases from evaluation_cases.json, no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.viewer import Role
from resolvers.flags.evaluation import (
    EvaluationError,
    FlagConfig,
    Reason,
    RolloutConfig,
    evaluate_flag,
    flag_not_found,
    stickiness_for,
)

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "evaluation_cases.json").read_text("utf-8"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every `<section>_case` test once per named case of that section of the JSON file."""
    for name in metafunc.fixturenames:
        if name.endswith("_case"):
            cases = CASES[name.removesuffix("_case")]
            metafunc.parametrize(name, cases, ids=[case["name"] for case in cases])


def _rollout(data: dict[str, Any]) -> RolloutConfig:
    return RolloutConfig(
        variant_key=data["variant_key"],
        weight=data["weight"],
        segment=data.get("segment"),
        variant_value=data.get("variant_value"),
        active=data.get("active", True),
    )


def test_evaluate(evaluate_case: dict[str, Any]) -> None:
    # given a flag, its rollout rows and a user
    flag = FlagConfig(**evaluate_case["flag"])
    rollouts = [_rollout(row) for row in evaluate_case["rollouts"]]

    # when it is evaluated
    result = evaluate_flag(
        flag=flag, rollouts=rollouts, segment=evaluate_case["segment"], stickiness=evaluate_case["stickiness"]
    )

    # then value, reason, variant and error are the expected ones
    expected = evaluate_case["expected"]
    assert result.key == flag.key
    assert result.value is expected["value"]
    assert result.reason is Reason(expected["reason"])
    assert result.variant == expected["variant"]
    assert result.variant_value == expected["variant_value"]
    assert result.error == (None if expected["error"] is None else EvaluationError(expected["error"]))


def test_stickiness(stickiness_case: dict[str, Any]) -> None:
    value = stickiness_for(
        role=Role(stickiness_case["role"]),
        viewer_user_id=stickiness_case["viewer_user_id"],
        context_user_id=stickiness_case["context_user_id"],
        session_id=stickiness_case["session_id"],
    )
    assert value == stickiness_case["expected"]


def test_every_role_has_a_stickiness_case() -> None:
    assert {case["role"] for case in CASES["stickiness"]} == {role.value for role in Role}


def test_every_reason_is_reached_by_a_case() -> None:
    assert {case["expected"]["reason"] for case in CASES["evaluate"]} == {r.value for r in Reason}


def test_an_unknown_key_is_off_by_default_with_an_error() -> None:
    result = flag_not_found("nope")
    assert (result.key, result.value, result.reason, result.error) == (
        "nope",
        False,
        Reason.DEFAULT,
        EvaluationError.FLAG_NOT_FOUND,
    )


def test_evaluation_is_deterministic_over_many_users() -> None:
    # given a 30% rollout evaluated twice for 10,000 users
    flag = FlagConfig(key="determinism", enabled=True, rollout_percentage=30)
    rollouts = [RolloutConfig("a", 250), RolloutConfig("b", 750)]

    def run() -> list[tuple[bool, str | None]]:
        results = (
            evaluate_flag(flag=flag, rollouts=rollouts, segment=None, stickiness=str(user))
            for user in range(10_000)
        )
        return [(r.value, r.variant) for r in results]

    first, second = run(), run()

    # then each user gets the same answer, about 30% are in, and about a quarter of those get "a"
    assert first == second
    inside = [variant for value, variant in first if value]
    assert 2_800 < len(inside) < 3_200
    assert 0.21 < inside.count("a") / len(inside) < 0.29
