"""Staff accounts with well-known emails, and customers with their money, affinities and send times.

Customers are generated and written in chunks: a chunk's users are copied first, their ids read back,
then the chunk's accounts, transactions (ids read back) and ledger entries that refer to them.
"""

from __future__ import annotations

import datetime as dt
import random
from itertools import accumulate
from typing import NamedTuple

from seed.copy import Loader, Row
from seed.ml import affinity_rows, send_time_row
from seed.wallet import MerchantCampaigns, Wallet, build_wallet
from seed.words import CITIES, FIRST_NAMES, LAST_NAMES
from seed.world import UTC, World, rng, weighted_index

# (role, email, name): the accounts the README tells people to log in with.
STAFF = (
    ("admin", "admin@swipesavvy.dev", "Avery Morgan"),
    ("marketer", "marketer@swipesavvy.dev", "Jordan Blake"),
    ("analyst", "analyst@swipesavvy.dev", "Riley Chen"),
    ("merchant", "merchant@swipesavvy.dev", "Casey Rivera"),
)
DEMO_CUSTOMER = ("customer@swipesavvy.dev", "Sam Taylor")
TIERS = ("bronze", "silver", "gold", "platinum")
TIER_WEIGHTS = list(accumulate((0.55, 0.25, 0.14, 0.06)))
TIER_ACTIVITY = {"bronze": 0.6, "silver": 1.0, "gold": 1.6, "platinum": 2.5}
CITY_WEIGHTS = list(accumulate(c.weight for c in CITIES))
SIGNUP_DAYS = 730
ERASED_SHARE = 0.003

USER_COLUMNS = (
    "email",
    "name",
    "phone",
    "role",
    "loyalty_tier",
    "password_hash",
    "merchant_id",
    "reward_points",
    "last_login_at",
    "created_at",
    "updated_at",
    "deleted_at",
)
ACCOUNT_COLUMNS = (
    "user_id",
    "kind",
    "institution",
    "last_four",
    "balance",
    "currency",
    "status",
    "created_at",
    "updated_at",
)
TRANSACTION_COLUMNS = (
    "user_id",
    "account_id",
    "merchant_id",
    "campaign_id",
    "external_ref",
    "amount",
    "currency",
    "category",
    "status",
    "occurred_at",
    "created_at",
)
LEDGER_COLUMNS = ("user_id", "kind", "points", "campaign_id", "description", "created_at", "transaction_id")
AFFINITY_COLUMNS = (
    "user_id",
    "merchant_id",
    "affinity_score",
    "interaction_count",
    "last_interaction_at",
    "purchase_count",
    "avg_transaction_value",
    "updated_at",
)
SEND_TIME_COLUMNS = (
    "user_id",
    "optimal_hour",
    "optimal_day_of_week",
    "confidence_score",
    "open_rate_morning",
    "open_rate_afternoon",
    "open_rate_evening",
    "engagement_score",
    "last_calculated_at",
    "updated_at",
)


async def write_staff(loader: Loader, world: World) -> None:
    created = world.days_ago(SIGNUP_DAYS + 30)
    first_merchant = world.merchants[0].id
    rows = [
        (
            email,
            name,
            None,
            role,
            "bronze",
            world.password_hash,
            first_merchant if role == "merchant" else None,
            0,
            world.days_ago(1),
            created,
            created,
            None,
        )
        for role, email, name in STAFF
    ]
    ids = await loader.copy_with_ids("users", USER_COLUMNS, rows, total=world.scale.users, last=False)
    world.staff = {role: id_ for (role, _, _), id_ in zip(STAFF, ids, strict=True)}


def _merchant_campaigns(world: World) -> MerchantCampaigns:
    index: MerchantCampaigns = {}
    for c in world.campaigns:
        if c.merchant_id is not None and c.first_day and c.last_day:
            first = dt.datetime.combine(c.first_day, dt.time(), tzinfo=UTC)
            last = dt.datetime.combine(c.last_day, dt.time(), tzinfo=UTC)
            index.setdefault(c.merchant_id, []).append((first, last, c.id, c.cashback_percent))
    return index


class _Customer(NamedTuple):
    user: Row
    wallet: Wallet
    affinities: list[Row]
    send_time: Row | None


def _customer(r: random.Random, world: World, ordinal: int, campaigns: MerchantCampaigns) -> _Customer:
    first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
    email, name = DEMO_CUSTOMER if ordinal == 0 else (f"user{ordinal}@example.com", f"{first} {last}")
    tier = TIERS[weighted_index(r, TIER_WEIGHTS)] if ordinal else "gold"
    created = world.days_ago(1 + (SIGNUP_DAYS - 1) * r.random() ** 1.3)
    erased = ordinal > 0 and r.random() < ERASED_SHARE
    until = created + (world.now - created) * r.uniform(0.3, 0.95) if erased else world.now
    city = world.merchants_by_city[weighted_index(r, CITY_WEIGHTS)]
    k = max(1, int(world.scale.affinities_per_user * r.uniform(0.5, 1.5) + 0.5))
    favourites = r.sample(city, min(k, len(city)))
    wallet = build_wallet(
        r,
        world,
        ordinal=ordinal,
        tier=tier,
        activity=TIER_ACTIVITY[tier],
        created=created,
        until=until,
        favourites=favourites,
        city=city,
        campaigns=campaigns,
    )
    phone = f"+1555{r.randint(0, 9_999_999):07d}" if r.random() < 0.92 else None
    last_login = max(created, until - dt.timedelta(days=30 * r.random() ** 2)) if r.random() < 0.85 else None
    if erased:
        user: Row = (
            None,
            None,
            None,
            "customer",
            tier,
            None,
            None,
            wallet.balance,
            last_login,
            created,
            until,
            until,
        )
    else:
        user = (
            email,
            name,
            phone,
            "customer",
            tier,
            world.password_hash,
            None,
            wallet.balance,
            last_login,
            created,
            last_login or created,
            None,
        )
    affinities = affinity_rows(r, world, favourites, wallet.purchases)
    send_time = send_time_row(r, world) if r.random() < 0.7 else None
    return _Customer(user, wallet, affinities, send_time)


async def write_customers(loader: Loader, world: World) -> None:
    r = rng("customers")
    campaigns = _merchant_campaigns(world)
    total = world.scale.users - len(STAFF)
    for start in range(0, total, world.scale.user_chunk):
        customers = [
            _customer(r, world, n, campaigns)
            for n in range(start, min(total, start + world.scale.user_chunk))
        ]
        last = start + world.scale.user_chunk >= total
        world.customer_ids.extend(await _write_chunk(loader, customers, world.scale.users, last))


async def _write_chunk(loader: Loader, customers: list[_Customer], total: int, last: bool) -> list[int]:
    """Write one chunk of customers and everything that refers to them; return their user ids."""
    users = [c.user for c in customers]
    user_ids = await loader.copy_with_ids("users", USER_COLUMNS, users, total=total, last=last)
    accounts = [(uid, *a) for uid, c in zip(user_ids, customers, strict=True) for a in c.wallet.accounts]
    account_ids = await loader.copy_with_ids("accounts", ACCOUNT_COLUMNS, accounts, last=last)
    transactions, offset = [], 0
    for uid, c in zip(user_ids, customers, strict=True):
        transactions.extend((uid, account_ids[offset + a], *row) for a, row in c.wallet.transactions)
        offset += len(c.wallet.accounts)
    transaction_ids = await loader.copy_with_ids("transactions", TRANSACTION_COLUMNS, transactions, last=last)
    ledger, offset = [], 0
    for uid, c in zip(user_ids, customers, strict=True):
        ledger.extend(
            (uid, *row, transaction_ids[offset + t] if t >= 0 else None) for t, row in c.wallet.ledger
        )
        offset += len(c.wallet.transactions)
    await loader.copy("rewards_ledger", LEDGER_COLUMNS, ledger, last=last)
    affinities = [(uid, *a) for uid, c in zip(user_ids, customers, strict=True) for a in c.affinities]
    await loader.copy("user_merchant_affinity", AFFINITY_COLUMNS, affinities, last=last)
    send_times = [(uid, *c.send_time) for uid, c in zip(user_ids, customers, strict=True) if c.send_time]
    await loader.copy("user_optimal_send_times", SEND_TIME_COLUMNS, send_times, last=last)
    return user_ids
