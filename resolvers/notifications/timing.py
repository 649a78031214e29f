"""When a campaign's notification reaches one person: at their best hour and day, in their time zone,
out of their quiet hours, within the daily cap.

Pure functions of the person's data and the clock, so every rule is tested without a database.
The best time comes from `user_optimal_send_times` (hour 0-23, day 0 = Sunday, as the seed); unknown,
the documented default hour (NOTIFICATION_DEFAULT_HOUR) of the next day it can still be reached.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# The cap looks this far ahead for a day with room; a person capped that long is skipped.
CAP_HORIZON_DAYS = 14


@dataclass(frozen=True, slots=True)
class Person:
    time_zone: ZoneInfo
    best_hour: int | None = None
    best_day: int | None = None  # 0 = Sunday
    quiet: tuple[dt.time, dt.time] | None = None


def _sunday_based(day: dt.date) -> int:
    return (day.weekday() + 1) % 7


def in_quiet_hours(local: dt.datetime, quiet: tuple[dt.time, dt.time]) -> bool:
    starts, ends = quiet
    t = local.time().replace(tzinfo=None)
    return starts <= t < ends if starts < ends else (t >= starts or t < ends)


def out_of_quiet_hours(local: dt.datetime, quiet: tuple[dt.time, dt.time] | None) -> dt.datetime:
    """`local`, or the end of the quiet hours it falls in (the same day, or the next one)."""
    if quiet is None or not in_quiet_hours(local, quiet):
        return local
    ends = quiet[1]
    moved = local.replace(hour=ends.hour, minute=ends.minute, second=0, microsecond=0)
    if moved <= local:
        moved = _same_wall_time(moved + dt.timedelta(days=1))
    return moved


def _same_wall_time(local: dt.datetime) -> dt.datetime:
    # Adding days to an aware datetime keeps the wall time; normalising through UTC fixes the offset
    # across a DST change (and moves a wall time that does not exist that day forward).
    return local.astimezone(dt.UTC).astimezone(local.tzinfo)


def best_time(person: Person, now: dt.datetime, default_hour: int) -> dt.datetime:
    """The next instant, from `now` on, at the person's best hour (and day, when known), local time."""
    local_now = now.astimezone(person.time_zone)
    hour = default_hour if person.best_hour is None else person.best_hour
    for days in range(8):
        day = local_now.date() + dt.timedelta(days=days)
        if (
            person.best_hour is not None
            and person.best_day is not None
            and _sunday_based(day) != person.best_day
        ):
            continue
        candidate = dt.datetime.combine(day, dt.time(hour), person.time_zone)
        candidate = _same_wall_time(candidate)
        if candidate >= local_now:
            return candidate
    raise AssertionError("a weekday recurs within 8 days")


def send_time(
    person: Person,
    *,
    now: dt.datetime,
    default_hour: int,
    at_once: bool,
    daily_cap: int,
    taken: Iterable[dt.datetime] = (),
) -> dt.datetime | None:
    """When to deliver (UTC), or None when the cap leaves no day within CAP_HORIZON_DAYS.

    `taken`: when the person's other notifications are due (the cap counts per local day).
    """
    local = now.astimezone(person.time_zone) if at_once else best_time(person, now, default_hour)
    per_day = Counter(t.astimezone(person.time_zone).date() for t in taken)
    for _ in range(CAP_HORIZON_DAYS):
        local = out_of_quiet_hours(local, person.quiet)
        if per_day[local.date()] < daily_cap:
            return local.astimezone(dt.UTC)
        # That day is full: the same time the next day (again out of quiet hours).
        local = _same_wall_time(local + dt.timedelta(days=1))
    return None
