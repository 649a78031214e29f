"""Campaigns in every lifecycle status, dated around today so dashboards show recent activity."""

from __future__ import annotations

import datetime as dt
import math
import random
from itertools import accumulate

from seed.copy import Loader
from seed.words import CAMPAIGN_OFFERS, CAMPAIGN_SUBJECTS, CAMPAIGN_THEMES, MERCHANT_KINDS, TARGET_SEGMENTS
from seed.world import UTC, CampaignRef, World, money, rng, weighted_index

STATUSES = ("running", "completed", "scheduled", "paused", "draft", "archived")
STATUS_WEIGHTS = list(accumulate((0.32, 0.33, 0.08, 0.07, 0.10, 0.10)))
TYPES = ("location_deal", "email_offer", "push_notification", "cashback")
TYPE_WEIGHTS = list(accumulate((0.30, 0.25, 0.25, 0.20)))
# Days from start to end: short bursts to always-on programmes that run for a year or more.
DURATIONS = (14, 30, 60, 90, 120, 180, 270, 365, 540)
DURATION_WEIGHTS = list(accumulate((1, 2, 3, 4, 3, 3, 2, 3, 2)))
# Share of running campaigns that are always-on programmes, started before the metrics window.
EVERGREEN_SHARE = 0.4
# Median daily budget in dollars by type: messages are cheap, placements in the map are not.
DAILY_BUDGET = {"location_deal": 250, "email_offer": 120, "push_notification": 90, "cashback": 400}
CASHBACK_PERCENTS = ("1.00", "2.00", "3.00", "5.00", "7.50", "10.00")
# The merchant that merchant@swipesavvy.dev works for gets the first campaigns, in these statuses.
FIRST_MERCHANT_STATUSES = ("running", "completed", "scheduled")
# Campaign subjects that fit a merchant, by its transaction category.
SUBJECTS = {
    "dining": ("Coffee", "Dining", "Brunch", "Pizza", "Lunch"),
    "shopping": ("Fashion", "Electronics", "Home", "Beauty"),
    "groceries": ("Grocery", "Fresh Produce"),
    "fuel": ("Fuel", "Road Trip"),
    "travel": ("Travel", "Staycation"),
    "entertainment": ("Cinema", "Live Music", "Game Night"),
    "health": ("Fitness", "Wellness"),
    "services": ("Pet", "Car Care", "Beauty"),
}
PITCH = {
    "location_deal": "Walk in within 500 m of the store and show the app for {pct}% off.",
    "email_offer": "Members-only {pct}% off, sent to the inbox of the target segment.",
    "push_notification": "A two-hour {pct}% flash discount announced by push notification.",
    "cashback": "Extra cashback as points on every purchase at the partner merchant.",
}

COLUMNS = (
    "name",
    "description",
    "type",
    "status",
    "starts_at",
    "ends_at",
    "budget",
    "cashback_percent",
    "merchant_id",
    "target_segment",
    "created_by_id",
    "created_at",
    "updated_at",
)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC)


def _schedule(
    r: random.Random, status: str, duration: int, today: dt.date, window: int
) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(start, end, first delivered day, end of delivery) as dates; delivery is [first, last)."""
    randint = r.randint
    if status in ("running", "paused"):
        age = randint(3, duration - 1)
        start = today - dt.timedelta(days=age)
        stop = today if status == "running" else start + dt.timedelta(days=randint(1, age - 1))
    elif status == "completed":
        start = today - dt.timedelta(days=randint(1, max(1, int(window * 0.9))) + duration)
        stop = start + dt.timedelta(days=duration)
    elif status == "archived":
        start = today - dt.timedelta(days=randint(int(window * 0.6), window + 180) + duration)
        stop = start + dt.timedelta(days=duration)
    else:  # scheduled, or a draft that already has dates
        start = today + dt.timedelta(days=randint(1, 45))
        stop = start
    first = max(start, today - dt.timedelta(days=window))
    return start, start + dt.timedelta(days=duration), first, max(first, stop)


async def write_campaigns(loader: Loader, world: World) -> None:
    r = rng("campaigns")
    today, window = world.today, world.scale.history_days
    creators = (world.staff["marketer"], world.staff["marketer"], world.staff["admin"])
    rows, refs = [], []
    for n in range(world.scale.campaigns):
        status = STATUSES[weighted_index(r, STATUS_WEIGHTS)]
        if n < len(FIRST_MERCHANT_STATUSES):
            status = FIRST_MERCHANT_STATUSES[n]
        type_ = TYPES[weighted_index(r, TYPE_WEIGHTS)]
        duration = DURATIONS[weighted_index(r, DURATION_WEIGHTS)]
        if status == "running" and r.random() < EVERGREEN_SHARE:
            duration = window + r.randint(30, 540)
        daily_cents = int(DAILY_BUDGET[type_] * 100 * math.exp(r.gauss(0.0, 0.5)))
        undated = status == "draft" and r.random() < 0.6
        start, end, first, last = _schedule(r, status, duration, today, window)
        created = world.now - dt.timedelta(days=1 + r.random() * 40)
        if start < today:
            created = _midnight(start) - dt.timedelta(days=2 + r.random() * 28)
        updated = min(world.now, max(created, _midnight(last)))
        local = type_ in ("location_deal", "cashback")
        merchant = r.choice(world.merchants) if r.random() < (0.9 if local else 0.2) else None
        if n < len(FIRST_MERCHANT_STATUSES):
            merchant = world.merchants[0]
        cashback = money(int(float(r.choice(CASHBACK_PERCENTS)) * 100)) if type_ == "cashback" else None
        theme = r.choice(CAMPAIGN_THEMES)
        subject = r.choice(SUBJECTS[MERCHANT_KINDS[merchant.kind][2]] if merchant else CAMPAIGN_SUBJECTS)
        name = f"{theme} {subject} {r.choice(CAMPAIGN_OFFERS[type_])}"
        if merchant is not None:
            name = f"{name} at {merchant.name}"
        description = PITCH[type_].format(pct=r.choice((10, 15, 20, 25, 30)))
        segment = r.choice(TARGET_SEGMENTS) if r.random() < 0.85 else None
        budget = money(math.ceil(daily_cents * duration / 10_000) * 10_000)
        rows.append(
            (
                name,
                description,
                type_,
                status,
                None if undated else _midnight(start),
                None if undated else _midnight(end),
                budget,
                cashback,
                merchant.id if merchant else None,
                segment,
                r.choice(creators),
                created,
                updated,
            )
        )
        delivered = status not in ("draft", "scheduled") and last > first
        refs.append(
            CampaignRef(
                id=0,
                type=type_,
                status=status,
                merchant_id=merchant.id if merchant else None,
                cashback_percent=cashback,
                starts_at=None if undated else _midnight(start),
                ends_at=None if undated else _midnight(end),
                first_day=first if delivered else None,
                last_day=last if delivered else None,
                daily_budget_cents=daily_cents,
            )
        )
    ids = await loader.copy_with_ids("campaigns", COLUMNS, rows)
    for ref, id_ in zip(refs, ids, strict=True):
        ref.id = id_
    world.campaigns = refs
