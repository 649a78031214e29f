"""Runtime settings and a short history in the audit logs, as if staff had used the dashboard."""

from __future__ import annotations

import json
from typing import Any

from seed.copy import Loader
from seed.world import World, rng

SETTINGS: tuple[tuple[str, Any, str], ...] = (
    (
        "loyalty.points_per_dollar",
        {"bronze": 1.0, "silver": 1.25, "gold": 1.5, "platinum": 2.0},
        "Points earned per dollar of a posted transaction, by loyalty tier.",
    ),
    (
        "loyalty.tier_thresholds",
        {"silver": 5000, "gold": 15000, "platinum": 40000},
        "Points earned over 12 months to reach each tier.",
    ),
    (
        "loyalty.redemption",
        {"min_points": 500, "cents_per_point": 1},
        "How points turn into statement credit.",
    ),
    ("loyalty.expiry_days", 180, "Points expire after this many days without activity."),
    (
        "campaigns.max_daily_budget",
        {"amount": "5000.00", "currency": "USD"},
        "Upper bound on a campaign's daily spend.",
    ),
    (
        "notifications.quiet_hours",
        {"start": "21:00", "end": "08:00"},
        "No push notifications in the user's night.",
    ),
    ("experiments.default_confidence_level", 95.0, "Confidence level proposed for new A/B tests."),
    ("flags.usage_retention_days", 30, "Raw flag checks are kept this long; daily rollups forever."),
)


async def write_admin(loader: Loader, world: World) -> None:
    r = rng("admin")
    admin, marketer = world.staff["admin"], world.staff["marketer"]
    created = world.days_ago(200)
    setting_ids = await loader.copy_with_ids(
        "settings",
        ("key", "value", "description", "updated_by", "created_at", "updated_at"),
        [
            (key, json.dumps(value), text, "admin@swipesavvy.dev", created, created)
            for key, value, text in SETTINGS
        ],
        total=len(SETTINGS),
    )
    events = []
    for c in world.campaigns[:5]:
        events.append(
            (
                marketer,
                f"user:{marketer}",
                "marketer",
                "campaign.create",
                "campaign",
                c.id,
                None,
                {"status": "draft", "type": c.type},
            )
        )
        if c.status != "draft":
            events.append(
                (
                    marketer,
                    f"user:{marketer}",
                    "marketer",
                    "campaign.update_status",
                    "campaign",
                    c.id,
                    {"status": "draft"},
                    {"status": c.status},
                )
            )
    events.append(
        (
            admin,
            f"user:{admin}",
            "admin",
            "setting.update",
            "setting",
            setting_ids[0],
            {"value": {"bronze": 1.0}},
            {"value": SETTINGS[0][1]},
        )
    )
    events.append((None, "system", None, "seed.load", "database", None, None, {"scale": world.scale.name}))
    rows = []
    for i, (actor, label, role, action, entity, entity_id, before, after) in enumerate(events):
        when = world.days_ago(30 - i * 2 - r.random())
        rows.append(
            (
                actor,
                label,
                role,
                action,
                entity,
                entity_id,
                json.dumps(before) if before else None,
                json.dumps(after) if after else None,
                f"10.0.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"{r.getrandbits(128):032x}",
                when,
            )
        )
    await loader.copy(
        "audit_log",
        (
            "actor_user_id",
            "actor_label",
            "actor_role",
            "action",
            "entity_type",
            "entity_id",
            "before",
            "after",
            "ip_address",
            "request_id",
            "created_at",
        ),
        rows,
        total=len(rows),
    )
    flag_rows = []
    for i, (flag_id, key, enabled, _, _) in enumerate(world.flags[:4]):
        when = world.days_ago(20 - i * 4 - r.random())
        flag_rows.append(
            (
                flag_id,
                key,
                "toggle",
                json.dumps({"enabled": not enabled}),
                json.dumps({"enabled": enabled}),
                "admin@swipesavvy.dev",
                admin,
                "Launch after QA sign-off" if enabled else "Paused pending review",
                "10.0.0.12",
                f"{r.getrandbits(128):032x}",
                when,
            )
        )
    await loader.copy(
        "feature_flag_audit_log",
        (
            "flag_id",
            "flag_key",
            "action",
            "old_value",
            "new_value",
            "changed_by",
            "actor_user_id",
            "change_reason",
            "ip_address",
            "request_id",
            "created_at",
        ),
        flag_rows,
        total=len(flag_rows),
    )
