"""Notifications of the demo and bench worlds, written set-wise in SQL from the customers already there.

Everything is chosen from the users' ids (hashed), never from the clock or a random source, so the
same scale gives the same rows: time zones (a fifth keep the default), audience segments (from tier,
signup and last login, named as campaigns target them), push devices, quiet hours, a few opt-outs,
and notifications of the running push and e-mail campaigns over the last two weeks, some read,
each with its deliveries. The demo customer always has a device and unread notifications.
"""

from __future__ import annotations

from seed.copy import Loader
from seed.world import World

DEMO_CUSTOMER = "customer@swipesavvy.dev"
ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London",
    "Europe/Paris", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip
# h(id, salt) in [0, 100): the share of customers that get something is a threshold on it.
H = "(abs(hashtext(u.id::text || ':{salt}')) % 100)"
LIVE = "u.role = 'customer' AND u.deleted_at IS NULL"

# (table, statement, its parameters: $1.. in this order, named from write_notifications' values)
STATEMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "users",
        f"""
UPDATE users u SET time_zone = ($1::text[])[1 + {H.format(salt="tz")} % cardinality($1::text[])]
WHERE {LIVE} AND {H.format(salt="tz-default")} >= 20
""",
        ("zones",),
    ),
    (
        "segment_members",
        f"""
INSERT INTO segment_members (segment, user_id, created_at)
SELECT s.segment, u.id, u.created_at
FROM users u CROSS JOIN LATERAL (VALUES
    ('all_users', true),
    ('new_users', u.created_at > $1::timestamptz - interval '60 days'),
    ('loyal_customers', u.loyalty_tier <> 'bronze'),
    ('high_value', u.loyalty_tier IN ('gold', 'platinum')),
    ('gold_and_above', u.loyalty_tier IN ('gold', 'platinum')),
    ('at_risk', coalesce(u.last_login_at, u.created_at) < $1::timestamptz - interval '45 days')
) AS s(segment, member)
WHERE {LIVE} AND s.member
""",
        ("now",),
    ),
    (
        "devices",
        f"""
INSERT INTO devices (user_id, platform, token, app_version, last_seen_at, created_at)
SELECT u.id, (ARRAY['ios', 'android', 'web'])[1 + {H.format(salt="platform")} % 3],
       md5(u.id::text || ':device') || md5(u.id::text || ':token'), '4.2.' || ({H.format(salt="v")} % 7),
       $1::timestamptz - {H.format(salt="seen")} * interval '3 hours', u.created_at
FROM users u WHERE {LIVE} AND ({H.format(salt="device")} < 60 OR u.email = $2)
""",
        ("now", "demo"),
    ),
    (
        "notification_quiet_hours",
        f"""
INSERT INTO notification_quiet_hours (user_id, starts, ends)
SELECT u.id, time '22:00', time '07:00' FROM users u WHERE {LIVE} AND {H.format(salt="quiet")} < 15
""",
        (),
    ),
    (
        "notification_preferences",
        f"""
INSERT INTO notification_preferences (user_id, channel, category, enabled)
SELECT u.id, 'email', 'offers', false FROM users u
WHERE {LIVE} AND {H.format(salt="optout")} < 10 AND u.email <> $1
""",
        ("demo",),
    ),
    (
        "notifications",
        f"""
INSERT INTO notifications (user_id, campaign_id, category, title, body, data, deliver_at, sent_at, read_at,
                           opened_at, created_at)
SELECT u.id, c.id, 'offers', left(c.name, 120), coalesce(c.description, c.name),
       jsonb_build_object('link', 'swipesavvy://campaigns/' || c.id), t.at, t.at,
       CASE WHEN {H.format(salt="read")} < 55 AND u.email <> $2 THEN t.at + interval '2 hours' END,
       CASE WHEN {H.format(salt="read")} < 20 AND u.email <> $2 THEN t.at + interval '2 hours' END, t.at
FROM users u
JOIN LATERAL (SELECT c.id, c.name, c.description FROM campaigns c
              WHERE c.status = 'running' AND c.type IN ('push_notification', 'email_offer')
              ORDER BY abs(hashtext(c.id::text || ':' || u.id)), c.id
              LIMIT 1 + {H.format(salt="count")} % 3) AS c ON true
CROSS JOIN LATERAL (SELECT $1::timestamptz - (abs(hashtext(u.id::text || ':' || c.id)) % 336)
                           * interval '1 hour' AS at) AS t
WHERE {LIVE} AND ({H.format(salt="notified")} < 50 OR u.email = $2)
""",
        ("now", "demo"),
    ),
    (
        "notification_deliveries",
        """
INSERT INTO notification_deliveries (notification_id, channel, device_id, status, attempts, provider, sent_at)
SELECT n.id, 'in_app', NULL, 'sent', 1, NULL, n.sent_at FROM notifications n
UNION ALL
SELECT n.id, 'push', d.id, 'sent', 1, 'log', n.sent_at
FROM notifications n JOIN devices d ON d.user_id = n.user_id AND d.active
""",
        (),
    ),
)


async def write_notifications(loader: Loader, world: World) -> None:
    """Every statement above, counted per table like the COPYs."""
    values: dict[str, object] = {"zones": list(ZONES), "now": world.now, "demo": DEMO_CUSTOMER}
    for table, sql, names in STATEMENTS:
        status = await loader.conn.execute(sql, *(values[name] for name in names))
        if table != "users":
            loader.rows[table] = loader.rows.get(table, 0) + int(status.split()[-1])
