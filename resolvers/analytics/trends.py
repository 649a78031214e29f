"""Trend buckets: which UTC hour, day or ISO week a metric belongs to, and how long a series may be.

`bucket_start` is the definition the trend loader's SQL implements (date_trunc on UTC values);
tests hold the two together.
"""

from __future__ import annotations

import datetime as dt

from core.errors import BadUserInput
from loaders.analytics import Granularity

# 31 days of hours is 744 points per campaign: enough for a month's chart, bounded per request.
MAX_HOUR_RANGE_DAYS = 31


def bucket_start(*, granularity: Granularity, moment: dt.datetime) -> dt.datetime:
    """Start (UTC) of the bucket holding `moment`: its hour, its day or the Monday of its ISO week."""
    utc = moment.astimezone(dt.UTC)
    if granularity is Granularity.HOUR:
        return utc.replace(minute=0, second=0, microsecond=0)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.DAY:
        return day
    return day - dt.timedelta(days=day.weekday())


def check_trend_range(*, granularity: Granularity, start: dt.date, end: dt.date) -> None:
    """Refuse hourly series longer than MAX_HOUR_RANGE_DAYS days."""
    if granularity is Granularity.HOUR and (end - start).days + 1 > MAX_HOUR_RANGE_DAYS:
        raise BadUserInput(
            f"An hourly trend may span at most {MAX_HOUR_RANGE_DAYS} days; use DAY or WEEK.", field="range"
        )
