"""Scales, the seed's random sources, and what one domain's generator hands to the next."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

SEED = 20261122
UTC = dt.UTC


@dataclass(frozen=True)
class Scale:
    name: str
    users: int  # staff included
    merchants: int
    campaigns: int
    history_days: int  # daily campaign metrics and flag rollups
    segment_days: int  # per campaign, its latest days
    trend_days: int  # hourly rows, the latest days only
    experiments: int
    assignments: int  # across all experiments
    transactions_per_user: float
    affinities_per_user: float
    flag_usage: int  # raw checks over the last 30 days
    user_chunk: int  # users generated and written together (bounds memory)


SCALES = {
    "demo": Scale(
        "demo",
        users=1_000,
        merchants=500,
        campaigns=100,
        history_days=90,
        segment_days=90,
        trend_days=14,
        experiments=10,
        assignments=9_000,
        transactions_per_user=12,
        affinities_per_user=8,
        flag_usage=20_000,
        user_chunk=1_000,
    ),
    "bench": Scale(
        "bench",
        users=100_000,
        merchants=10_000,
        campaigns=2_000,
        history_days=365,
        segment_days=90,
        trend_days=14,
        experiments=60,
        assignments=1_000_000,
        transactions_per_user=4,
        affinities_per_user=2,
        flag_usage=300_000,
        user_chunk=10_000,
    ),
}


def rng(*parts: object) -> random.Random:
    """An independent random source per domain (and per item where generation is split in passes).

    String seeds are hashed with SHA-512 by `random`, so the stream does not depend on PYTHONHASHSEED,
    and a change in one domain's generator leaves every other domain's data as it was.
    """
    return random.Random(":".join(str(p) for p in (SEED, *parts)))


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def lognormal_cents(r: random.Random, typical_dollars: float, sigma: float = 0.6) -> int:
    """A positive amount around `typical_dollars` (its median), with a long right tail."""
    return max(100, int(typical_dollars * 100 * math.exp(r.gauss(0.0, sigma))))


def weighted_index(r: random.Random, cumulative: list[float]) -> int:
    x = r.random() * cumulative[-1]
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@dataclass
class MerchantRef:
    id: int
    city: int  # index into words.CITIES
    kind: str  # merchant category name, a key of words.MERCHANT_KINDS
    name: str


@dataclass
class CampaignRef:
    id: int
    type: str
    status: str
    merchant_id: int | None
    cashback_percent: Decimal | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    # The days it delivered: [first_day, last_day) in UTC, empty for drafts and scheduled campaigns.
    first_day: dt.date | None
    last_day: dt.date | None
    daily_budget_cents: int


@dataclass
class World:
    """The anchor ("now") and the ids each domain wrote that later domains refer to."""

    scale: Scale
    today: dt.date
    password_hash: str
    merchants: list[MerchantRef] = field(default_factory=list)
    merchants_by_city: list[list[MerchantRef]] = field(default_factory=list)
    staff: dict[str, int] = field(default_factory=dict)  # role -> user id
    customer_ids: list[int] = field(default_factory=list)
    campaigns: list[CampaignRef] = field(default_factory=list)
    flags: list[tuple[int, str, bool, int, str]] = field(
        default_factory=list
    )  # id, key, enabled, rollout, type

    @property
    def now(self) -> dt.datetime:
        """Midnight UTC at the start of `today`: everything generated happened before it."""
        return dt.datetime.combine(self.today, dt.time(), tzinfo=UTC)

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)
