"""One customer's money: linked accounts, card transactions and the rewards ledger they earn.

Rows are generated before any of them has an id, so they refer to each other by position in the
customer's lists; the writer swaps positions for ids after each COPY.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from seed.copy import Row
from seed.words import INSTITUTIONS, MERCHANT_KINDS
from seed.world import MerchantRef, World, lognormal_cents, money, weighted_index

ACCOUNT_KINDS = ("debit_card", "credit_card", "checking", "savings", "wallet")
ACCOUNT_KIND_WEIGHTS = list(accumulate((0.35, 0.35, 0.15, 0.05, 0.10)))
# Points per dollar by tier; a point is worth one cent when redeemed.
TIER_MULTIPLIER = {"bronze": 1.0, "silver": 1.25, "gold": 1.5, "platinum": 2.0}
WELCOME_POINTS = 100
PENDING_WINDOW = dt.timedelta(days=3)
INACTIVE_EXPIRY = dt.timedelta(days=180)
# Active cashback and other campaigns of a merchant: (first moment, end of delivery, campaign id, percent).
MerchantCampaigns = dict[int, list[tuple[dt.datetime, dt.datetime, int, Decimal | None]]]


@dataclass
class Wallet:
    accounts: list[Row] = field(default_factory=list)
    # (account position, row without user_id and account_id)
    transactions: list[tuple[int, Row]] = field(default_factory=list)
    # (transaction position or -1, row without user_id and transaction_id)
    ledger: list[tuple[int, Row]] = field(default_factory=list)
    balance: int = 0
    # merchant id -> (purchases, amount in cents, last purchase)
    purchases: dict[int, tuple[int, int, dt.datetime]] = field(default_factory=dict)


def _accounts(r: random.Random, created: dt.datetime) -> tuple[list[Row], list[int]]:
    rows, usable = [], []
    count = 1 + (r.random() < 0.45) + (r.random() < 0.12)
    for i in range(count):
        kind = ACCOUNT_KINDS[weighted_index(r, ACCOUNT_KIND_WEIGHTS)]
        status = "active" if i == 0 or r.random() < 0.9 else r.choice(("frozen", "unlinked"))
        typical = {"savings": 800_000, "credit_card": 90_000}.get(kind, 250_000)
        balance = money(lognormal_cents(r, typical / 100, 0.8))
        rows.append(
            (
                kind,
                r.choice(INSTITUTIONS[kind]),
                f"{r.randint(0, 9999):04d}",
                balance,
                "USD",
                status,
                created,
                created,
            )
        )
        if status == "active":
            usable.append(i)
    return rows, usable


def _pick_merchant(
    r: random.Random, favourites: list[MerchantRef], city: list[MerchantRef]
) -> MerchantRef | None:
    x = r.random()
    if x < 0.8 and favourites:
        # The first favourites are visited most.
        return favourites[int(len(favourites) * r.random() ** 1.8)]
    if x < 0.95 and city:
        return city[int(len(city) * r.random())]
    return None


def build_wallet(
    r: random.Random,
    world: World,
    *,
    ordinal: int,
    tier: str,
    activity: float,
    created: dt.datetime,
    until: dt.datetime,
    favourites: list[MerchantRef],
    city: list[MerchantRef],
    campaigns: MerchantCampaigns,
) -> Wallet:
    """Accounts, then transactions and ledger entries in time order; the balance never goes negative."""
    w = Wallet()
    w.accounts, usable = _accounts(r, created)
    window = max(180, world.scale.history_days)
    since = max(created + dt.timedelta(hours=1), until - dt.timedelta(days=window))
    span = (until - since).total_seconds()
    n = (
        int(world.scale.transactions_per_user * activity * r.uniform(0.3, 1.7) + r.random())
        if span > 0
        else 0
    )
    times = sorted(since + dt.timedelta(seconds=r.random() * span) for _ in range(n))
    entries: list[tuple[dt.datetime, int, Row]] = []
    if r.random() < 0.9:
        entries.append((created, -1, ("adjust", WELCOME_POINTS, None, "Welcome bonus")))
        w.balance += WELCOME_POINTS
    multiplier = TIER_MULTIPLIER[tier]
    for j, occurred in enumerate(times):
        merchant = _pick_merchant(r, favourites, city)
        if merchant is None:
            category, cents = r.choice(("other", "shopping", "services")), lognormal_cents(r, 40.0)
        else:
            _, _, category, typical, _ = MERCHANT_KINDS[merchant.kind]
            cents = lognormal_cents(r, typical)
        if until - occurred < PENDING_WINDOW and r.random() < 0.4:
            status = "pending"
        else:
            x = r.random()
            status = "posted" if x < 0.95 else "declined" if x < 0.975 else "refunded"
        campaign_id, percent = None, None
        for first, last, cid, pct in campaigns.get(merchant.id, ()) if merchant else ():
            if first <= occurred < last and r.random() < 0.7:
                campaign_id, percent = cid, pct
                break
        ref = f"ch_{ordinal:06x}{j:03x}{r.getrandbits(40):010x}"
        w.transactions.append(
            (
                r.choice(usable),
                (
                    merchant.id if merchant else None,
                    campaign_id,
                    ref,
                    money(cents),
                    "USD",
                    category,
                    status,
                    occurred,
                    occurred,
                ),
            )
        )
        if status != "posted":
            continue
        if merchant is not None:
            count, total, _ = w.purchases.get(merchant.id, (0, 0, occurred))
            w.purchases[merchant.id] = (count + 1, total + cents, occurred)
        # Cashback campaigns pay their percent of the amount as points (1 point = 1 cent) on top.
        points = int(cents // 100 * multiplier) + (int(cents * percent / 100) if percent else 0)
        if points > 0:
            description = f"Purchase at {merchant.name}" if merchant else "Online purchase"
            entries.append((occurred, j, ("earn", points, campaign_id, description)))
            w.balance += points
        if w.balance >= 1000 and r.random() < 0.25:
            redeemed = 1000 if w.balance >= 2000 and r.random() < 0.5 else 500
            when = occurred + dt.timedelta(hours=r.randint(1, 48))
            if when < until:
                entries.append(
                    (when, -1, ("redeem", -redeemed, None, f"Redeemed for ${redeemed // 100} credit"))
                )
                w.balance -= redeemed
    if r.random() < 0.02:
        when = created + dt.timedelta(seconds=r.random() * max(1.0, (until - created).total_seconds()))
        entries.append((when, -1, ("adjust", 250, None, "Goodwill credit from support")))
        w.balance += 250
    last_activity = max((e[0] for e in entries), default=created)
    if w.balance > 0 and last_activity + INACTIVE_EXPIRY < until and r.random() < 0.5:
        entries.append((last_activity + INACTIVE_EXPIRY, -1, ("expire", -w.balance, None, "Points expired")))
        w.balance = 0
    # Time order, so ledger ids follow the timeline. Still never negative: each withdrawal was checked
    # against what was generated before it, and all of that is dated earlier (credits) or is a
    # withdrawal already counted, so any prefix holds at least what the last withdrawal in it saw.
    entries.sort(key=lambda e: e[0])
    w.ledger = [(tx, (*row, when)) for when, tx, row in entries]
    return w
