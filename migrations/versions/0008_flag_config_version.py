"""flag config version: one row bumped by triggers on every write of what flag evaluation reads, and the
API's evaluation counts per flag and day

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the tables flag evaluation reads when this migration was written.
EVALUATED_TABLES = ("feature_flags", "feature_flag_rollouts")

# BEFORE each statement, so a writer takes the version row's lock before any flag row's: two writers
# of different flags queue on it instead of deadlocking. Per statement, not per row: a bulk write bumps
# once. The UPDATE is part of the writer's transaction, so the bump commits (or rolls back) with it.
BUMP_FUNCTION = """
CREATE FUNCTION bump_feature_flag_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feature_flag_config_version SET version = version + 1, changed_at = now() WHERE id = 1;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "feature_flag_config_version",
        sa.Column("id", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_feature_flag_config_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_flag_config_version")),
    )
    op.execute("INSERT INTO feature_flag_config_version (id, version) VALUES (1, 0)")
    op.execute(BUMP_FUNCTION)
    for table in EVALUATED_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_config_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_feature_flag_config_version()"
        )

    op.add_column(
        "feature_flag_analytics",
        sa.Column("evaluations", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "feature_flag_analytics",
        sa.Column("evaluations_enabled", sa.BigInteger(), server_default="0", nullable=False),
    )
    for name, condition in (
        ("evaluations_non_negative", "evaluations >= 0"),
        ("evaluations_enabled_non_negative", "evaluations_enabled >= 0"),
        ("evaluations_enabled_within", "evaluations_enabled <= evaluations"),
    ):
        op.create_check_constraint(
            op.f(f"ck_feature_flag_analytics_{name}"), "feature_flag_analytics", condition
        )


def downgrade() -> None:
    for name in (
        "evaluations_enabled_within",
        "evaluations_enabled_non_negative",
        "evaluations_non_negative",
    ):
        op.drop_constraint(op.f(f"ck_feature_flag_analytics_{name}"), "feature_flag_analytics", type_="check")
    op.drop_column("feature_flag_analytics", "evaluations_enabled")
    op.drop_column("feature_flag_analytics", "evaluations")
    for table in EVALUATED_TABLES:
        op.execute(f"DROP TRIGGER trg_{table}_config_version ON {table}")
    op.execute("DROP FUNCTION bump_feature_flag_config_version()")
    op.drop_table("feature_flag_config_version")
