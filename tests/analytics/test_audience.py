"""The audience rule without a database: which segments the data model knows a customer to be in."""

from __future__ import annotations

import datetime as dt

import pytest

from resolvers.analytics.audience import Member, in_audience, segments_of

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
VETERAN = NOW - dt.timedelta(days=400)

# name: (tier, account age in days, target segment, in the audience)
CASES: dict[str, tuple[str, int, str | None, bool]] = {
    "untargeted reaches everyone": ("bronze", 400, None, True),
    "a blank target reaches everyone": ("bronze", 400, "  ", True),
    "all_users reaches everyone": ("bronze", 400, "all_users", True),
    "a tier reaches its own": ("silver", 400, "silver", True),
    "a tier reaches no other": ("gold", 400, "silver", False),
    "and_above reaches the tier": ("gold", 400, "gold_and_above", True),
    "and_above reaches the tiers above": ("platinum", 400, "gold_and_above", True),
    "and_above reaches no tier below": ("silver", 400, "gold_and_above", False),
    "bronze_and_above is everyone's tier": ("bronze", 400, "bronze_and_above", True),
    "case and spaces do not matter": ("gold", 400, "  Gold_And_Above ", True),
    "new_users: an account of 29 days": ("bronze", 29, "new_users", True),
    "new_users: not one of 30 days": ("bronze", 30, "new_users", False),
    "a segment decided elsewhere reaches no customer": ("platinum", 1, "loyal_customers", False),
    "an unknown segment reaches no customer": ("gold", 400, "students", False),
}


@pytest.mark.parametrize(("tier", "age", "target", "included"), CASES.values(), ids=list(CASES))
def test_audience(tier: str, age: int, target: str | None, included: bool) -> None:
    member = Member(loyalty_tier=tier, joined_at=NOW - dt.timedelta(days=age))
    assert in_audience(target, segments_of(member, now=NOW)) is included


def test_the_segments_of_a_gold_veteran() -> None:
    assert segments_of(Member(loyalty_tier="gold", joined_at=VETERAN), now=NOW) == {
        "all_users",
        "gold",
        "bronze_and_above",
        "silver_and_above",
        "gold_and_above",
    }
