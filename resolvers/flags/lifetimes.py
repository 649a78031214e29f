"""Expected lifetimes of flag types (Unleash's): a flag older than its type's lifetime is stale."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, false, or_

from models.flags import FeatureFlag, FlagType

# None: the flag is meant to live forever (kill switches, permissions).
LIFETIME_DAYS: dict[FlagType, int | None] = {
    FlagType.RELEASE: 40,
    FlagType.EXPERIMENT: 40,
    FlagType.OPERATIONAL: 7,
    FlagType.KILL_SWITCH: None,
    FlagType.PERMISSION: None,
}


def is_stale(*, flag_type: FlagType, created_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether a flag of this type created then has outlived its expected lifetime by `now`."""
    days = LIFETIME_DAYS[flag_type]
    return days is not None and now - created_at > dt.timedelta(days=days)


def stale_condition(now: dt.datetime) -> ColumnElement[bool]:
    """The same rule in SQL, for filters and counts."""
    clauses = [
        and_(FeatureFlag.type == t.value, FeatureFlag.created_at < now - dt.timedelta(days=days))
        for t, days in LIFETIME_DAYS.items()
        if days is not None
    ]
    return or_(*clauses) if clauses else false()
