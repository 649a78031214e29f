"""The earning rule (resolvers/users/rewards.py), pinned by named cases in test_rewards_cases.json."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from resolvers.users.rewards import TIER_MULTIPLIERS, EarnReason, earn

CASES = json.loads((Path(__file__).parent / "test_rewards_cases.json").read_text(encoding="utf-8"))["cases"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c["name"] for c in CASES])


def test_rule(case: dict[str, Any]) -> None:
    percent = case["cashback_percent"]
    earning = earn(
        amount=Decimal(case["amount"]),
        tier=case["tier"],
        status=case["status"],
        cashback_percent=None if percent is None else Decimal(percent),
    )
    assert (earning.base, earning.bonus, earning.reason) == (case["base"], case["bonus"], case["reason"])
    assert earning.points == case["base"] + case["bonus"]


def test_every_tier_has_a_multiplier_and_they_rise() -> None:
    assert list(TIER_MULTIPLIERS.values()) == sorted(TIER_MULTIPLIERS.values())
    assert len(TIER_MULTIPLIERS) == 4


def test_the_description_names_the_parts_and_no_person() -> None:
    with_bonus = earn(amount=Decimal("100"), tier="bronze", status="posted", cashback_percent=Decimal("5"))
    plain = earn(amount=Decimal("100"), tier="bronze", status="posted")
    assert with_bonus.describe() == "Card transaction: 100 tier + 500 cashback points"
    assert plain.describe() == "Card transaction: 100 tier points"
    assert plain.reason is EarnReason.TIER
