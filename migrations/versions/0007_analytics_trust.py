"""analytics trust: event receipts (client event ids, the per-user bound) and revenue sums no day can fill

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVENUE_TABLES = ("campaign_analytics_daily", "campaign_analytics_segments", "campaign_trend_data")
# The one view reading a revenue column: PostgreSQL changes no column type under a view, so it is
# dropped and created again around the change. Frozen here, as 0002 created it.
PERFORMANCE_VIEW = """
CREATE VIEW v_campaign_performance_summary AS
SELECT campaign_id,
       SUM(impressions) AS total_impressions,
       SUM(clicks) AS total_clicks,
       SUM(conversions) AS total_conversions,
       SUM(revenue) AS total_revenue,
       SUM(spend) AS total_spend,
       SUM(clicks)::double precision / NULLIF(SUM(impressions), 0) AS click_through_rate,
       SUM(conversions)::double precision / NULLIF(SUM(clicks), 0) AS conversion_rate,
       SUM(revenue) / NULLIF(SUM(spend), 0) AS roas,
       (SUM(revenue) - SUM(spend)) / NULLIF(SUM(spend), 0) AS roi,
       SUM(revenue) / NULLIF(SUM(conversions), 0) AS avg_order_value,
       MAX(date) AS latest_date
FROM campaign_analytics_daily
WHERE date > (now() AT TIME ZONE 'UTC')::date - 90
  AND date <= (now() AT TIME ZONE 'UTC')::date
GROUP BY campaign_id
"""


def _revenue_type(precision: int) -> None:
    # Widening a NUMERIC's precision at the same scale rewrites no table. Narrowing back (downgrade)
    # fails if a sum no longer fits NUMERIC(14,2): nothing is truncated silently.
    op.execute("DROP VIEW v_campaign_performance_summary")
    for table in REVENUE_TABLES:
        op.alter_column(
            table, "revenue", type_=sa.Numeric(precision=precision, scale=2), existing_nullable=False
        )
    op.execute(PERFORMANCE_VIEW)


def upgrade() -> None:
    op.create_table(
        "campaign_event_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("reporter", sa.String(length=40), nullable=False),
        sa.Column("client_event_id", sa.String(length=64), nullable=True),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_event_receipts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_campaign_event_receipts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_event_receipts")),
        sa.UniqueConstraint(
            "reporter", "client_event_id", name=op.f("uq_campaign_event_receipts_reporter_client_event_id")
        ),
    )
    op.create_index(
        op.f("ix_campaign_event_receipts_date"), "campaign_event_receipts", ["date"], unique=False
    )
    op.create_index(
        "ix_campaign_event_receipts_user_id_campaign_id_date",
        "campaign_event_receipts",
        ["user_id", "campaign_id", "date"],
        unique=False,
    )
    _revenue_type(24)


def downgrade() -> None:
    _revenue_type(14)
    op.drop_index("ix_campaign_event_receipts_user_id_campaign_id_date", table_name="campaign_event_receipts")
    op.drop_index(op.f("ix_campaign_event_receipts_date"), table_name="campaign_event_receipts")
    op.drop_table("campaign_event_receipts")
