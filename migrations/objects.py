"""Database objects Alembic's autogenerate does not model: views, trigger functions and triggers."""

from __future__ import annotations

from typing import Any

# Views are created by migrations; reflection would otherwise report them as tables to drop.
VIEWS = (
    "v_active_feature_flags",
    "v_feature_flag_usage_summary",
    "v_ab_test_summary",
    "v_campaign_performance_summary",
)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave views out of autogenerate and `alembic check`."""
    return not (type_ == "table" and reflected and compare_to is None and name in VIEWS)
