"""When a campaign's notification is due for one person: best hour and day in their zone, quiet hours,
the daily cap, daylight saving time (resolvers/notifications/timing.py, pure)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from resolvers.notifications.timing import Person, in_quiet_hours, send_time

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday, 09:30 in Paris (08:30 UTC, winter time).
NOW = dt.datetime(2026, 12, 2, 8, 30, tzinfo=dt.UTC)


def _due(person: Person, **options: object) -> dt.datetime | None:
    values: dict[str, object] = {"now": NOW, "default_hour": 10, "at_once": False, "daily_cap": 3}
    return send_time(person, **{**values, **options})  # type: ignore[arg-type]


def _local(instant: dt.datetime | None, zone: ZoneInfo) -> str:
    assert instant is not None and instant.tzinfo is dt.UTC
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")


def test_the_best_hour_and_day_come_in_the_persons_own_time_zone() -> None:
    # Friday (5) at 19:00 in New York
    assert _local(_due(Person(NEW_YORK, best_hour=19, best_day=5)), NEW_YORK) == "Fri 2026-12-04 19:00"
    # a best hour alone: today if still ahead, in Paris
    assert _local(_due(Person(PARIS, best_hour=18)), PARIS) == "Wed 2026-12-02 18:00"
    # already past today: tomorrow
    assert _local(_due(Person(PARIS, best_hour=8)), PARIS) == "Thu 2026-12-03 08:00"


def test_unknown_best_time_is_the_default_hour() -> None:
    assert _local(_due(Person(PARIS)), PARIS) == "Wed 2026-12-02 10:00"
    assert _local(_due(Person(PARIS), default_hour=9), PARIS) == "Thu 2026-12-03 09:00"


def test_at_once_is_now_unless_quiet() -> None:
    assert _due(Person(PARIS), at_once=True) == NOW
    quiet = (dt.time(9, 0), dt.time(12, 15))
    assert _local(_due(Person(PARIS, quiet=quiet), at_once=True), PARIS) == "Wed 2026-12-02 12:15"


def test_quiet_hours_wrap_past_midnight_and_move_the_time_to_their_end() -> None:
    night = (dt.time(22, 0), dt.time(7, 30))
    assert in_quiet_hours(dt.datetime(2026, 1, 1, 23, 0, tzinfo=PARIS), night)
    assert in_quiet_hours(dt.datetime(2026, 1, 1, 6, 59, tzinfo=PARIS), night)
    assert not in_quiet_hours(dt.datetime(2026, 1, 1, 7, 30, tzinfo=PARIS), night)
    # best hour 23:00 falls in them: the next morning at 07:30
    assert _local(_due(Person(PARIS, best_hour=23, quiet=night)), PARIS) == "Thu 2026-12-03 07:30"


def test_the_daily_cap_moves_to_the_next_day_with_room() -> None:
    person = Person(PARIS, best_hour=18)
    today = dt.datetime(2026, 12, 2, 12, 0, tzinfo=PARIS)
    tomorrow = today + dt.timedelta(days=1)
    assert _local(_due(person, daily_cap=2, taken=[today]), PARIS) == "Wed 2026-12-02 18:00"
    assert _local(_due(person, daily_cap=2, taken=[today, today]), PARIS) == "Thu 2026-12-03 18:00"
    assert _local(_due(person, daily_cap=1, taken=[today, tomorrow]), PARIS) == "Fri 2026-12-04 18:00"
    # capped every day of the horizon: skipped
    every_day = [today + dt.timedelta(days=d) for d in range(20)]
    assert _due(person, daily_cap=1, taken=every_day) is None


def test_the_wall_time_holds_across_daylight_saving_time() -> None:
    # Saturday 28 March 2026 in Paris; the clocks go forward on Sunday the 29th at 02:00.
    saturday = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)
    due = _due(Person(PARIS, best_hour=9, best_day=1), now=saturday)  # Monday 09:00
    assert _local(due, PARIS) == "Mon 2026-03-30 09:00"
    assert due is not None and due.hour == 7  # UTC+2 now
    # 02:00 does not exist that Sunday: moved forward to 03:00
    skipped = _due(Person(PARIS, best_hour=2, best_day=0), now=saturday)
    assert _local(skipped, PARIS) == "Sun 2026-03-29 03:00"
