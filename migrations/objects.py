"""Database objects Alembic's autogenerate does not model: views, trigger functions and triggers,
and the job engine's tables (procrastinate's, created from its own SQL, and job_errors beside them)."""

from __future__ import annotations

import re
from typing import Any

# Views are created by migrations; reflection would otherwise report them as tables to drop.
VIEWS = (
    "v_active_feature_flags",
    "v_feature_flag_usage_summary",
    "v_ab_test_summary",
    "v_campaign_performance_summary",
)
# migrations/versions/0009_job_engine.py: the engine's schema is the package's, not the models'.
JOB_ENGINE_PREFIX = "procrastinate_"
JOB_ENGINE_TABLES = ("job_errors",)
# migrations/versions/0011_event_log.py: the event log's day partitions (campaign_events_YYYYMMDD and
# the default one) are made and dropped by the prune job, not modelled one by one.
EVENT_LOG_PARTITION = re.compile(r"campaign_events_(\d{8}|default)")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave views and the job engine's tables out of autogenerate and `alembic check`."""
    if type_ != "table" or not reflected or compare_to is not None or name is None:
        return True
    return not (
        name in VIEWS
        or name in JOB_ENGINE_TABLES
        or name.startswith(JOB_ENGINE_PREFIX)
        or EVENT_LOG_PARTITION.fullmatch(name)
    )
