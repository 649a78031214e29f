"""event log: accepted campaign events appended to a pending table, folded into the counters by the
job workers and kept in a log partitioned by UTC day

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the days an event may be late (resolvers/analytics/writes.py MAX_AGE) and a week ahead,
# so every day an event can be accepted for has its partition from the start; the prune job keeps
# creating the coming days' (resolvers/analytics/event_partitions.py).
PARTITIONS = """
DO $$
DECLARE d date;
BEGIN
  FOR d IN SELECT generate_series(current_date - 8, current_date + 7, interval '1 day')::date LOOP
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I PARTITION OF campaign_events FOR VALUES FROM (%L) TO (%L)',
      'campaign_events_' || to_char(d, 'YYYYMMDD'), d, d + 1);
  END LOOP;
END $$;
"""


def _event_columns() -> list[sa.Column]:
    return [
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=True),
        sa.Column("revenue", sa.Numeric(precision=12, scale=2), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "campaign_events_pending",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        *_event_columns(),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "type IN ('impression', 'click', 'conversion')",
            name=op.f("ck_campaign_events_pending_type_allowed"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_events_pending")),
    )
    op.create_table(
        "campaign_events",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_event_columns(),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "day", name=op.f("pk_campaign_events")),
        postgresql_partition_by="RANGE (day)",
    )
    op.execute("CREATE TABLE campaign_events_default PARTITION OF campaign_events DEFAULT")
    op.execute(PARTITIONS)


def downgrade() -> None:
    op.drop_table("campaign_events")
    op.drop_table("campaign_events_pending")
