"""A/B tests with weighted variants, per-user assignments and the result snapshots they add up to.

Some tests carry a real uplift large enough to be detected at their size, so winners exist; the
others have a small, no or a negative effect. Results are computed from the generated assignments.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from seed import stats
from seed.copy import Loader, Row
from seed.words import EXPERIMENT_AREAS, EXPERIMENT_IDEAS
from seed.world import World, money, rng

# Tests beyond the first ten may be drafts; those ten are the showcase and all have results.
SHOWCASE = 10
ZERO = Decimal("0.00")
ARM_KEYS = ("control", "variant_a", "variant_b", "variant_c")
CREATORS = ("marketer@swipesavvy.dev", "analyst@swipesavvy.dev", "admin@swipesavvy.dev")
TEST_COLUMNS = (
    "key", "name", "description", "hypothesis", "campaign_id", "status", "starts_at", "ends_at",
    "confidence_level", "min_statistical_power", "baseline_rate", "minimum_detectable_effect", "sample_size",
    "created_by", "created_at", "updated_at",
)  # fmt: skip
VARIANT_COLUMNS = ("test_id", "key", "name", "description", "is_control", "weight", "payload")
ASSIGNMENT_COLUMNS = (
    "test_id",
    "user_id",
    "variant_id",
    "assigned_at",
    "conversions",
    "revenue",
    "last_converted_at",
)
RESULT_COLUMNS = (
    "test_id", "variant_id", "computed_at", "users_count", "converted_users", "conversions",
    "conversion_rate", "revenue", "revenue_per_user", "uplift", "ci_lower", "ci_upper", "p_value",
    "p_value_adjusted", "revenue_p_value", "srm_p_value", "sample_size_required", "is_significant", "winner",
    "created_at", "updated_at",
)  # fmt: skip


@dataclass
class Arm:
    id: int
    weight: int
    planned_rate: float  # the conversion rate the arm's users are drawn with
    n: int = 0
    converted: int = 0
    conversions: int = 0
    revenue_cents: int = 0
    revenue_squares: float = 0.0  # dollars squared, for Welch

    @property
    def rate(self) -> float:
        return self.converted / self.n if self.n else 0.0


@dataclass
class Test:
    id: int
    status: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    confidence: float
    baseline: float
    required: int  # users per arm
    aov_cents: int
    arms: list[Arm] = field(default_factory=list)
    size: int = 0


def _dates(r: random.Random, world: World, status: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    uniform = r.uniform
    day = dt.timedelta(days=1)
    if status in ("running", "paused"):
        return world.now - uniform(7, 45) * day, world.now + uniform(3, 30) * day
    if status == "completed":
        end = world.now - uniform(1, 120) * day
        return end - uniform(14, 42) * day, end
    if status == "archived":
        end = world.now - uniform(120, 300) * day
        return end - 28 * day, end
    return (None, None) if r.random() < 0.5 else (world.now + 5 * day, world.now + 40 * day)


async def write_experiments(loader: Loader, world: World) -> None:
    r = rng("experiments")
    tests, rows, keys = [], [], set()
    delivered = [c for c in world.campaigns if c.first_day]
    for i in range(world.scale.experiments):
        area = EXPERIMENT_AREAS[i % len(EXPERIMENT_AREAS)]
        slug, title, hypothesis = EXPERIMENT_IDEAS[(i + i // len(EXPERIMENT_AREAS)) % len(EXPERIMENT_IDEAS)]
        key = f"{area}-{slug}"
        while key in keys:
            key = f"{area}-{slug}-{len(keys)}"
        keys.add(key)
        statuses = ("running", "completed", "paused", "archived") + (("draft",) if i >= SHOWCASE else ())
        status = r.choices(statuses, weights=(40, 40, 5, 5, 10)[: len(statuses)])[0]
        starts_at, ends_at = _dates(r, world, status)
        confidence = r.choice((95.0, 95.0, 95.0, 90.0, 99.0))
        baseline, mde = round(r.uniform(0.05, 0.30), 3), r.choice((0.05, 0.10, 0.15, 0.20))
        created = (starts_at or world.now) - dt.timedelta(days=r.uniform(1, 7))
        created = min(created, world.days_ago(0.5))
        campaign = r.choice(delivered).id if delivered and r.random() < 0.4 else None
        required = stats.sample_size(baseline, mde, confidence / 100, 0.8)
        name = f"{area.replace('-', ' ').capitalize()}: {title}"
        description = f"{title} test on {area.replace('-', ' ')}."
        rows.append(
            (key, name, description, hypothesis, campaign, status, starts_at, ends_at, confidence, 80.0,
             baseline, mde, required, r.choice(CREATORS), created, created)
        )  # fmt: skip
        aov = int(3500 * math.exp(r.gauss(0, 0.3)))
        tests.append(Test(0, status, starts_at, ends_at, confidence, baseline, required, aov))
    ids = await loader.copy_with_ids("ab_tests", TEST_COLUMNS, rows, total=len(rows))
    for test, id_ in zip(tests, ids, strict=True):
        test.id = id_
    _plan_sizes(r, world, [t for t in tests if t.status != "draft"])
    await _write_variants(loader, r, tests)
    await loader.copy(
        "ab_test_assignments",
        ASSIGNMENT_COLUMNS,
        _assignments(world, tests),
        total=sum(t.size for t in tests),
    )
    await _write_results(loader, world, tests)


def _plan_sizes(r: random.Random, world: World, tests: list[Test]) -> None:
    """Split the scale's assignment count over the tests, none larger than the customer base."""
    cap = len(world.customer_ids)
    weights = [r.uniform(0.5, 1.5) for _ in tests]
    total = min(world.scale.assignments, cap * len(tests))
    for t, w in zip(tests, weights, strict=True):
        t.size = min(cap, int(total * w / sum(weights)))
    short = total - sum(t.size for t in tests)
    for t in tests:
        extra = min(short, cap - t.size)
        t.size, short = t.size + extra, short - extra


async def _write_variants(loader: Loader, r: random.Random, tests: list[Test]) -> None:
    rows, plans = [], []
    for t in tests:
        baseline = t.baseline
        k = r.choices((2, 3, 4), weights=(60, 30, 10))[0]
        weights = [1000 // k] * k
        weights[0] += 1000 - sum(weights)
        # Effect of the best arm: large enough to be found at this size, or small, none, or harmful.
        effect = r.choices(("winner", "small", "none", "negative"), weights=(40, 20, 30, 10))[0]
        per_arm = max(1, t.size // k)
        detectable = 3.2 * math.sqrt(2 * (1 - baseline) / (baseline * per_arm))
        uplift = {"winner": max(0.20, detectable), "small": 0.05, "none": 0.0, "negative": -0.10}[effect]
        best = r.randint(1, k - 1)
        rates = [baseline] + [
            min(0.95, baseline * (1 + (uplift if a == best else uplift / 4 if effect == "winner" else 0.0)))
            for a in range(1, k)
        ]
        for a in range(k):
            key = ARM_KEYS[a]
            rows.append(
                (
                    t.id,
                    key,
                    key.replace("_", " ").title(),
                    None,
                    a == 0,
                    weights[a],
                    json.dumps({"treatment": "baseline" if a == 0 else key}),
                )
            )
            plans.append((t, weights[a], rates[a]))
    ids = await loader.copy_with_ids("ab_test_variants", VARIANT_COLUMNS, rows)
    for id_, (t, weight, rate) in zip(ids, plans, strict=True):
        t.arms.append(Arm(id_, weight, rate))


def _assignments(world: World, tests: list[Test]) -> Iterator[Row]:
    """Each test's users in id order (kind to indexes); variant by weight, conversion by the arm's rate."""
    for index, t in enumerate(tests):
        if not t.size or not t.starts_at or not t.ends_at:
            continue
        r = rng("assignments", index)
        random, gauss = r.random, r.gauss
        start, stop = t.starts_at, min(t.ends_at, world.now)
        span = (stop - start).total_seconds()
        bounds = []
        running = 0
        for arm in t.arms:
            running += arm.weight
            bounds.append((running / 1000, arm))
        for user_id in sorted(r.sample(world.customer_ids, t.size)):
            x = random()
            arm = next(a for bound, a in bounds if x < bound)
            assigned = start + dt.timedelta(seconds=span * random())
            arm.n += 1
            if random() >= arm.planned_rate:
                yield (t.id, user_id, arm.id, assigned, 0, ZERO, None)
                continue
            conversions = 1 + (random() < 0.2) + (random() < 0.05)
            cents = conversions * int(t.aov_cents * math.exp(gauss(0.0, 0.4)))
            arm.converted += 1
            arm.conversions += conversions
            arm.revenue_cents += cents
            arm.revenue_squares += (cents / 100) ** 2
            converted_at = assigned + (stop - assigned) * random()
            yield (t.id, user_id, arm.id, assigned, conversions, money(cents), converted_at)


def _compare(t: Test, arm: Arm) -> tuple[float, float, float, float, float, float] | None:
    """(uplift, interval low, interval high, p, adjusted p, revenue p) of `arm` against the control.

    Uplift and its interval are relative to the control's rate; p is Bonferroni-adjusted for the arms.
    """
    control = t.arms[0]
    if arm is control or not arm.n or not control.converted:
        return None
    base, confidence = control.rate, t.confidence / 100
    low, high = stats.difference_interval(control.n, control.converted, arm.n, arm.converted, confidence)
    p = stats.proportion_test(control.n, control.converted, arm.n, arm.converted)
    revenue_p = stats.welch_p(
        control.n, control.revenue_cents / 100, control.revenue_squares,
        arm.n, arm.revenue_cents / 100, arm.revenue_squares,
    )  # fmt: skip
    adjusted = min(1.0, p * (len(t.arms) - 1))
    return (arm.rate - base) / base, low / base, high / base, p, adjusted, revenue_p


async def _write_results(loader: Loader, world: World, tests: list[Test]) -> None:
    rows: list[Row] = []
    for t in tests:
        if not t.size or not t.ends_at:
            continue
        computed = min(t.ends_at, world.now)
        srm = stats.srm_p([a.n for a in t.arms], [a.weight for a in t.arms])
        compared = [_compare(t, a) for a in t.arms]
        alpha = 1 - t.confidence / 100
        significant = [c is not None and c[4] < alpha for c in compared]
        # The winner: the best arm among those significantly better than the control.
        better = [
            (a.rate, i) for i, a in enumerate(t.arms) if significant[i] and (compared[i] or (0.0,))[0] > 0
        ]
        winner = max(better)[1] if better else -1
        for i, (a, c) in enumerate(zip(t.arms, compared, strict=True)):
            rows.append(
                (t.id, a.id, computed, a.n, a.converted, a.conversions, a.rate, money(a.revenue_cents),
                 a.revenue_cents / 100 / a.n if a.n else 0.0, *(c or (None,) * 6), srm, t.required,
                 significant[i], i == winner, computed, computed)
            )  # fmt: skip
    await loader.copy("ab_test_results", RESULT_COLUMNS, rows, total=len(rows))
