"""The floor's SQL: frozen, hand-written statements reading the rows the server's resolvers and loaders
read for the three bench documents, with the visibility of a viewer who sees every campaign (staff).

Each reads only the columns its answer prints; orders are the server's (the same columns, so the same
collation), so lists come out in the server's order.
"""

from __future__ import annotations

# README query 1: the page (one row past the size says whether a next page exists) and its count.
CAMPAIGN_PAGE = """
SELECT id, name, type, budget, starts_at, ends_at, merchant_id
FROM campaigns
WHERE status = ANY($1::varchar[])
ORDER BY name ASC, id ASC
LIMIT $2
"""

CAMPAIGN_COUNT = "SELECT count(*) FROM campaigns WHERE status = ANY($1::varchar[])"

# A merchant's category is one-to-one: joined rather than a second round trip.
MERCHANTS_WITH_CATEGORY = """
SELECT m.id, m.name, m.city, c.id AS category_id, c.name AS category_name, c.color_code
FROM merchants m
LEFT JOIN merchant_categories c ON c.id = m.category_id
WHERE m.id = ANY($1::bigint[])
"""

# Experiments by id, each one's variants control first then by key (the server's two orders).
EXPERIMENTS_WITH_VARIANTS = """
SELECT e.campaign_id, e.id, e.key, e.status, v.key AS variant_key, v.weight
FROM ab_tests e
LEFT JOIN ab_test_variants v ON v.test_id = e.id
WHERE e.campaign_id = ANY($1::bigint[])
ORDER BY e.id, v.is_control DESC, v.key
"""

DAILY_METRICS = """
SELECT campaign_id, date, impressions, clicks, revenue
FROM campaign_analytics_daily
WHERE campaign_id = ANY($1::bigint[]) AND date BETWEEN $2 AND $3
ORDER BY campaign_id, date
"""

METRIC_TOTALS = """
SELECT campaign_id, sum(impressions), sum(clicks), sum(conversions), sum(revenue), sum(spend)
FROM campaign_analytics_daily
WHERE campaign_id = ANY($1::bigint[]) AND date BETWEEN $2 AND $3
GROUP BY campaign_id
"""

# The flat list: the default order, newest first.
FLAT_PAGE = "SELECT id, name FROM campaigns ORDER BY created_at DESC, id DESC LIMIT $1"

# evaluateFlags without keys: every flag by key, each one's rollout rows in creation order.
FLAGS_WITH_ROLLOUTS = """
SELECT f.key, f.enabled, f.rollout_percentage,
       r.id AS rollout_id, r.variant_key, r.weight, r.user_segment, r.variant_value, r.active
FROM feature_flags f
LEFT JOIN feature_flag_rollouts r ON r.flag_id = f.id
ORDER BY f.key, r.id
"""

# The erased-account check when Redis cannot answer (resolvers/auth/revocations.py does the same).
USER_DELETED_AT = "SELECT deleted_at FROM users WHERE id = $1"

READY = "SELECT 1"
