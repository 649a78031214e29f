"""Machine-learning outputs: model versions, user-merchant affinity, send times, campaign advice."""

from __future__ import annotations

import datetime as dt
import math
import random
from itertools import accumulate

from seed.copy import Loader, Row
from seed.world import MerchantRef, World, money, rng, weighted_index

# Opening habits peak before work, at lunch and in the evening.
HOUR_WEIGHTS = list(accumulate((1, 1, 1, 1, 1, 2, 4, 8, 10, 7, 5, 6, 9, 6, 4, 4, 5, 7, 10, 12, 9, 6, 3, 2)))
# (model type, display name, ((version, status), ...)) with at most one active version per type.
MODELS = (
    (
        "conversion",
        "Conversion propensity",
        (("1.0.0", "archived"), ("1.1.0", "deprecated"), ("2.0.0", "active"), ("2.1.0", "training")),
    ),
    ("churn", "Churn risk", (("1.0.0", "deprecated"), ("1.2.0", "active"))),
    ("affinity", "Merchant affinity", (("0.9.0", "archived"), ("1.0.0", "active"))),
    ("offer", "Next best offer", (("1.0.0", "active"), ("1.1.0", "training"))),
)
ADVICE = {
    "offer": "Raise the discount from 10% to 15%: similar campaigns converted {x}% more at that depth.",
    "timing": "Send at {hour}:00 in each user's time zone, when the target segment opens most.",
    "audience": "Add the loyal_customers segment: it converts {x}% above this campaign's average.",
    "creative": "Test a shorter headline: long headlines underperform on small screens by about {x}%.",
    "channel": "Follow the email with a push notification after 24 h: users who get both convert {x}% more.",
}
ADVICE_TYPES = tuple(ADVICE)


def affinity_rows(
    r: random.Random,
    world: World,
    favourites: list[MerchantRef],
    purchases: dict[int, tuple[int, int, dt.datetime]],
) -> list[Row]:
    """Rows (without user_id) for a customer's favourite merchants, agreeing with their purchases."""
    rows = []
    for m in favourites:
        count, total, last = purchases.get(m.id, (0, 0, None))
        interactions = count + int(r.random() * 15)
        score = (1.0 - math.exp(-(0.35 * count + 0.04 * interactions))) * r.uniform(0.85, 1.0)
        seen = last or world.days_ago(1 + r.random() * 120)
        rows.append(
            (
                m.id,
                round(score, 4),
                interactions,
                seen,
                count,
                money(total // count) if count else None,
                world.now,
            )
        )
    return rows


def send_time_row(r: random.Random, world: World) -> Row:
    hour = weighted_index(r, HOUR_WEIGHTS)
    base = r.uniform(0.05, 0.35)
    bucket = 0 if hour < 12 else 1 if hour < 17 else 2
    rates = [
        round(min(0.95, base * r.uniform(0.6, 1.0) * (1.5 if i == bucket else 1.0)), 4) for i in range(3)
    ]
    calculated = world.days_ago(r.random() * 7)
    return (
        hour,
        r.randint(0, 6),
        round(r.uniform(0.4, 0.95), 3),
        *rates,
        round(r.betavariate(2, 3), 4),
        calculated,
        calculated,
    )


async def write_models(loader: Loader, world: World) -> None:
    r = rng("ml_models")
    rows = []
    for model_type, name, versions in MODELS:
        for age, (version, status) in enumerate(reversed(versions)):
            trained = world.days_ago(3 + age * 60 + r.random() * 20)
            if status == "training":
                scores: tuple[float | None, ...] = (None,) * 5
            else:
                precision, recall = r.uniform(0.62, 0.88), r.uniform(0.55, 0.85)
                f1 = 2 * precision * recall / (precision + recall)
                scores = tuple(
                    round(s, 4) for s in (r.uniform(0.7, 0.93), precision, recall, f1, r.uniform(0.72, 0.95))
                )
            rows.append(
                (
                    name,
                    model_type,
                    version,
                    trained,
                    *scores,
                    r.randint(24, 180),
                    r.randint(50_000, 2_000_000),
                    status,
                    f"models/{model_type}/{version}/model.onnx",
                    trained,
                    trained,
                )
            )
    await loader.copy(
        "ml_models",
        (
            "name",
            "model_type",
            "version",
            "training_date",
            "accuracy",
            "precision",
            "recall",
            "f1_score",
            "auc_score",
            "feature_count",
            "training_samples",
            "status",
            "model_path",
            "created_at",
            "updated_at",
        ),
        rows,
        total=len(rows),
    )


async def write_optimizations(loader: Loader, world: World) -> None:
    """Advice for the campaigns that can still change: running, paused, scheduled and drafts."""
    r = rng("campaign_optimizations")
    rows = []
    for c in world.campaigns:
        if c.status not in ("running", "paused", "scheduled", "draft"):
            continue
        for kind in r.sample(ADVICE_TYPES, 1 + (r.random() < 0.5) + (r.random() < 0.2)):
            created = world.days_ago(r.random() * 14)
            done = c.status in ("running", "paused") and r.random() < 0.2
            implemented_at = created + (world.now - created) * r.random() if done else None
            text = ADVICE[kind].format(x=r.randint(5, 40), hour=weighted_index(r, HOUR_WEIGHTS))
            rows.append(
                (
                    c.id,
                    kind,
                    text,
                    round(r.uniform(0.5, 0.95), 3),
                    round(r.uniform(2.0, 25.0), 1),
                    r.choice(("low", "medium", "high")),
                    r.randint(1, 10),
                    done,
                    implemented_at,
                    world.staff["analyst"] if r.random() < 0.3 else None,
                    created,
                    implemented_at or created,
                )
            )
    await loader.copy(
        "campaign_optimizations",
        (
            "campaign_id",
            "recommendation_type",
            "recommendation_text",
            "confidence_score",
            "potential_uplift_percent",
            "implementation_effort",
            "priority",
            "implemented",
            "implemented_at",
            "created_by_id",
            "created_at",
            "updated_at",
        ),
        rows,
        total=len(rows),
    )
