"""user search indexes: email prefix (text_pattern_ops) and name sort

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:51:16.071405
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_users_lower_email_pattern",
        "users",
        [sa.func.lower(sa.literal_column("email")).label("lower_email")],
        unique=False,
        postgresql_ops={"lower_email": "text_pattern_ops"},
    )
    op.create_index(
        "ix_users_name_id", "users", [sa.literal_column("coalesce(name, '')"), "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_users_name_id", table_name="users")
    op.drop_index("ix_users_lower_email_pattern", table_name="users")
