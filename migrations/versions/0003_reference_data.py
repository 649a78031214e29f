"""reference data: the 10 feature flags and the 8 merchant categories of the seed audit

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (key, name, description, category, type, enabled)
FLAGS = (
    ("tier_progress_bar", "Tier progress bar", "Display tier progression", "ui", "release", True),
    ("amount_chip_selector", "Amount chip selector", "Quick-select amounts", "ui", "release", True),
    ("platform_goal_meter", "Platform goal meter", "Community goals", "ui", "release", True),
    ("ai_concierge_chat", "AI concierge chat", "AI support", "ui", "release", True),
    ("dark_mode", "Dark mode", "Dark theme", "ui", "release", True),
    ("social_sharing", "Social sharing", "Social integration", "advanced", "release", True),
    ("receipt_generation", "Receipt generation", "Receipt export", "advanced", "release", True),
    ("community_feed", "Community feed", "Community sharing", "experimental", "experiment", False),
    ("notification_center", "Notification center", "Notification hub", "experimental", "experiment", False),
    ("advanced_analytics", "Advanced analytics", "Analytics dashboard", "experimental", "experiment", False),
)

# (name, icon, colour)
CATEGORIES = (
    ("Restaurants & Cafes", "restaurant", "#FF6B6B"),
    ("Retail & Shopping", "shopping_bag", "#4ECDC4"),
    ("Grocery & Food", "local_grocery_store", "#95E1D3"),
    ("Gas Stations", "local_gas_station", "#FFD93D"),
    ("Hotels & Travel", "hotel", "#6BCB77"),
    ("Entertainment", "theaters", "#FF8066"),
    ("Health & Wellness", "spa", "#FF6B9D"),
    ("Services", "build", "#9D84B7"),
)

flags = sa.table(
    "feature_flags",
    sa.column("key", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("category", sa.String),
    sa.column("type", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("rollout_percentage", sa.SmallInteger),
    sa.column("created_by", sa.String),
)
categories = sa.table(
    "merchant_categories",
    sa.column("name", sa.String),
    sa.column("icon_name", sa.String),
    sa.column("color_code", sa.String),
)


def upgrade() -> None:
    op.bulk_insert(
        flags,
        [
            {
                "key": key,
                "name": name,
                "description": description,
                "category": category,
                "type": type_,
                "enabled": enabled,
                "rollout_percentage": 100,
                "created_by": "migration",
            }
            for key, name, description, category, type_, enabled in FLAGS
        ],
    )
    op.bulk_insert(
        categories,
        [{"name": name, "icon_name": icon, "color_code": colour} for name, icon, colour in CATEGORIES],
    )


def downgrade() -> None:
    op.execute(categories.delete().where(categories.c.name.in_([c[0] for c in CATEGORIES])))
    op.execute(flags.delete().where(flags.c.key.in_([f[0] for f in FLAGS])))
