"""Merchants scattered around real city centres, and the partnership terms of some of them."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from itertools import accumulate

from seed.copy import Loader
from seed.words import CITIES, MERCHANT_KINDS
from seed.world import MerchantRef, World, money, rng, weighted_index

RADIUS_KM = 15.0
KM_PER_DEGREE = 111.32
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Opening hours by transaction category: (weekday, weekend).
HOURS = {
    "dining": ("07:00-22:00", "08:00-23:00"),
    "shopping": ("10:00-20:00", "10:00-18:00"),
    "groceries": ("07:00-22:00", "08:00-21:00"),
    "fuel": ("00:00-24:00", "00:00-24:00"),
    "travel": ("00:00-24:00", "00:00-24:00"),
    "entertainment": ("12:00-23:00", "11:00-01:00"),
    "health": ("06:00-21:00", "08:00-18:00"),
    "services": ("08:00-18:00", "09:00-16:00"),
}
TAGS = (
    "contactless",
    "wheelchair_accessible",
    "outdoor_seating",
    "pet_friendly",
    "parking",
    "wifi",
    "delivery",
)

COLUMNS = (
    "code",
    "name",
    "description",
    "category_id",
    "latitude",
    "longitude",
    "address",
    "city",
    "state",
    "zip_code",
    "country",
    "phone",
    "email",
    "website",
    "operating_hours",
    "rating",
    "total_reviews",
    "is_active",
    "is_featured",
    "metadata",
    "created_at",
    "updated_at",
)


def _hours_json(category: str) -> str:
    weekday, weekend = HOURS[category]
    return json.dumps({d: weekend if d in ("sat", "sun") else weekday for d in DAYS})


async def write_merchants(loader: Loader, world: World) -> None:
    r = rng("merchants")
    categories = [
        (cid, name)
        for cid, name in await loader.conn.fetch("SELECT id, name FROM merchant_categories ORDER BY id")
        if name in MERCHANT_KINDS
    ]
    kind_cumulative = list(accumulate(MERCHANT_KINDS[name][4] for _, name in categories))
    city_cumulative = list(accumulate(c.weight for c in CITIES))
    hours = {name: _hours_json(MERCHANT_KINDS[name][2]) for _, name in categories}
    rows, refs = [], []
    for n in range(1, world.scale.merchants + 1):
        city_index = weighted_index(r, city_cumulative)
        city = CITIES[city_index]
        category_id, kind = categories[weighted_index(r, kind_cumulative)]
        prefixes, nouns, category, _, _ = MERCHANT_KINDS[kind]
        name = f"{r.choice(prefixes)} {r.choice(nouns)}"
        # Uniform over the disc: the square root keeps the centre from being over-crowded.
        distance = RADIUS_KM * math.sqrt(r.random())
        bearing = r.random() * 2 * math.pi
        latitude = city.latitude + distance * math.cos(bearing) / KM_PER_DEGREE
        longitude = city.longitude + distance * math.sin(bearing) / (
            KM_PER_DEGREE * math.cos(math.radians(city.latitude))
        )
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        created = world.days_ago(30 + r.random() * 900)
        metadata = {"price_level": r.randint(1, 4), "tags": sorted(r.sample(TAGS, r.randint(1, 3)))}
        rows.append(
            (
                f"MER-{n:06d}",
                name,
                f"{kind} in {city.name}",
                category_id,
                round(latitude, 6),
                round(longitude, 6),
                f"{r.randint(1, 2400)} {r.choice(city.streets)}",
                city.name,
                city.state,
                f"{city.zip_prefix}{r.randint(0, 99):02d}",
                "United States",
                f"+1{city.area_code}{r.randint(2_000_000, 9_999_999)}",
                f"hello@{slug}{n}.example.com",
                f"https://{slug}{n}.example.com",
                hours[kind],
                money(r.randint(300, 500)),
                int(math.exp(r.gauss(4.0, 1.2))),
                r.random() > 0.04,
                r.random() < 0.05,
                json.dumps(metadata),
                created,
                created,
            )
        )
        refs.append((city_index, kind, name))
    ids = await loader.copy_with_ids("merchants", COLUMNS, rows)
    world.merchants = [
        MerchantRef(id_, city, kind, name) for id_, (city, kind, name) in zip(ids, refs, strict=True)
    ]
    world.merchants_by_city = [[m for m in world.merchants if m.city == i] for i in range(len(CITIES))]


async def write_preferred_merchants(loader: Loader, world: World) -> None:
    """Partnership terms, with the campaign performance and visits that the other tables attribute."""
    r = rng("preferred_merchants")
    campaign_stats = {
        row[0]: row[1:]
        for row in await loader.conn.fetch(
            """
            SELECT c.merchant_id, sum(d.impressions), sum(d.conversions), sum(d.revenue)
            FROM campaign_analytics_daily d JOIN campaigns c ON c.id = d.campaign_id
            WHERE c.merchant_id IS NOT NULL GROUP BY c.merchant_id
            """
        )
    }
    visits = dict(
        await loader.conn.fetch(
            "SELECT merchant_id, count(*) FROM transactions"
            " WHERE merchant_id IS NOT NULL AND status = 'posted' GROUP BY merchant_id"
        )
    )
    with_campaigns = {c.merchant_id for c in world.campaigns if c.merchant_id is not None}
    rows = []
    for m in world.merchants:
        if m.id not in with_campaigns and r.random() >= 0.15:
            continue
        impressions, conversions, revenue = campaign_stats.get(m.id, (0, 0, Decimal(0)))
        partnership = "premium" if impressions > 0 and r.random() < 0.5 else r.choice(("standard", "trial"))
        commission = money(r.randint(250, 1200) if partnership != "trial" else r.randint(0, 300))
        created = world.days_ago(20 + r.random() * 400)
        rows.append(
            (
                m.id,
                r.random() > 0.05,
                partnership,
                commission,
                visits.get(m.id, 0),
                impressions,
                conversions,
                revenue,
                created,
                created,
            )
        )
    await loader.copy(
        "preferred_merchants",
        (
            "merchant_id",
            "is_partner",
            "partnership_type",
            "commission_rate",
            "user_visits_total",
            "campaign_impressions",
            "campaign_conversions",
            "revenue_from_campaigns",
            "created_at",
            "updated_at",
        ),
        rows,
        total=len(rows),
    )
