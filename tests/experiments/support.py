"""Helpers of the experiment tests: hand-made assignments in bulk, statement counting, viewers."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from models.experiments import Experiment, ExperimentAssignment, ExperimentVariant
from models.users import User
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN, user_id=1)
ANALYST = Viewer(role=Role.ANALYST, user_id=2)

_emails = itertools.count(1)


async def make_experiment(
    db: AsyncSession, weights: Sequence[int] = (500, 500), **overrides: Any
) -> tuple[Experiment, list[ExperimentVariant]]:
    """An experiment with variants control, variant_a, variant_b... of these weights (control first)."""
    test = await f.make_ab_test(db, **overrides)
    keys = ["control"] + [f"variant_{chr(ord('a') + i)}" for i in range(len(weights) - 1)]
    variants = [
        await f.make_ab_test_variant(db, test_id=test.id, key=key, name=key, is_control=i == 0, weight=w)
        for i, (key, w) in enumerate(zip(keys, weights, strict=True))
    ]
    return test, variants


async def assign(
    db: AsyncSession, variant: ExperimentVariant, users: int, *, converted: int = 0, revenue: str = "0"
) -> list[tuple[int, Decimal]]:
    """Assign `users` new users to the variant; the first `converted` converted once, spending `revenue`.

    Returns each user's (conversions, revenue), the per-user values an oracle needs.
    """
    ids = (
        (
            await db.execute(
                insert(User).returning(User.id),
                [{"email": f"exp-user-{next(_emails)}@example.com", "name": "Tester"} for _ in range(users)],
            )
        )
        .scalars()
        .all()
    )
    values = [(1, Decimal(revenue)) if i < converted else (0, Decimal(0)) for i in range(users)]
    await db.execute(
        insert(ExperimentAssignment),
        [
            {
                "test_id": variant.test_id,
                "variant_id": variant.id,
                "user_id": user_id,
                "conversions": conversions,
                "revenue": amount,
                "assigned_at": f.T0 + dt.timedelta(minutes=i),
            }
            for i, (user_id, (conversions, amount)) in enumerate(zip(ids, values, strict=True))
        ],
    )
    return values
