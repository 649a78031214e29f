"""What a person agreed to receive: per channel and category, quiet hours, and their time zone.

No preference row means the default, on. Account messages (sign-in, password, erasure) cannot be
turned off: they are how a person learns that someone else used their account.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications import Category, Channel, NotificationPreference, QuietHours
from models.users import User
from resolvers.audit import Actor, record_change
from resolvers.outcomes import Outcome, ProblemCode, Problems

ALWAYS_ON = frozenset({Category.ACCOUNT})
TIME_ZONE_MAX = 64


@dataclass(frozen=True, slots=True)
class Preference:
    channel: Channel
    category: Category
    enabled: bool


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """None leaves a part as it is. `clear_quiet_hours` removes them; an empty time zone resets it."""

    preferences: Sequence[Preference] = ()
    quiet_hours: tuple[dt.time, dt.time] | None = None
    clear_quiet_hours: bool = False
    time_zone: str | None = None


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_time_zone(name: str) -> bool:
    """An IANA name the server knows (the tz database of the Python it runs on, or tzdata)."""
    return len(name) <= TIME_ZONE_MAX and name in time_zones()


def _check(change: SettingsChange, problems: Problems) -> None:
    seen: set[tuple[Channel, Category]] = set()
    for p in change.preferences:
        if (p.channel, p.category) in seen:
            problems.add("preferences", f"{p.channel.value}/{p.category.value} is given twice.")
        seen.add((p.channel, p.category))
        if p.category in ALWAYS_ON and not p.enabled:
            problems.add("preferences", "Account messages cannot be turned off.", ProblemCode.INVALID)
    if change.quiet_hours is not None:
        if change.clear_quiet_hours:
            problems.add("quietHours", "Give quiet hours or clear them, not both.")
        starts, ends = change.quiet_hours
        if starts == ends:
            problems.add("quietHours", "Quiet hours must not start and end at the same time.")
        if starts.second or ends.second or starts.microsecond or ends.microsecond:
            problems.add("quietHours", "Quiet hours are whole minutes.")
    if change.time_zone and not valid_time_zone(change.time_zone):
        problems.add("timeZone", "An IANA time zone name, such as Europe/Paris.", ProblemCode.INVALID)


async def update_settings(
    session: AsyncSession, *, actor: Actor, user_id: int, change: SettingsChange
) -> Outcome[int]:
    """Write the changed parts; returns the user id (the settings are reread through the loaders)."""
    problems = Problems()
    _check(change, problems)
    if problems:
        return Outcome.refused(problems)
    user = await session.scalar(
        select(User).where(User.id == user_id, User.deleted_at.is_(None)).with_for_update()
    )
    if user is None:
        return Outcome.one_problem(None, "Your account does not exist or was erased.", ProblemCode.NOT_FOUND)
    if change.preferences:
        p = NotificationPreference
        rows = [
            {
                "user_id": user_id,
                "channel": x.channel.value,
                "category": x.category.value,
                "enabled": x.enabled,
            }
            for x in sorted(change.preferences, key=lambda x: (x.channel.value, x.category.value))
        ]
        statement = insert(p).values(rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[p.user_id, p.channel, p.category],
                set_={"enabled": statement.excluded.enabled},
            )
        )
    changed = bool(change.preferences)
    if change.clear_quiet_hours:
        cleared = await session.execute(delete(QuietHours).where(QuietHours.user_id == user_id))
        changed |= bool(cleared.rowcount)  # type: ignore[attr-defined]
    elif change.quiet_hours is not None:
        starts, ends = change.quiet_hours
        statement = insert(QuietHours).values(user_id=user_id, starts=starts, ends=ends)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[QuietHours.user_id],
                set_={"starts": statement.excluded.starts, "ends": statement.excluded.ends},
            )
        )
        changed = True
    if change.time_zone is not None and (change.time_zone or None) != user.time_zone:
        user.time_zone = change.time_zone or None
        changed = True
    if not changed:
        return Outcome(value=user_id, ref=("User", user_id))
    # Consent to marketing over a channel is evidence a regulator may ask for: who changed it, when.
    await record_change(
        session, actor=actor, action="notification_settings.update", entity_type="user", entity_id=user_id,
        after=_audited(change),
    )  # fmt: skip
    return Outcome(value=user_id, ref=("User", user_id))


def _audited(change: SettingsChange) -> dict[str, object]:
    after: dict[str, object] = {
        "preferences": [f"{p.channel.value}/{p.category.value}={p.enabled}" for p in change.preferences]
    }
    if change.quiet_hours is not None:
        after["quiet_hours"] = [t.isoformat(timespec="minutes") for t in change.quiet_hours]
    if change.clear_quiet_hours:
        after["quiet_hours"] = None
    if change.time_zone is not None:
        after["time_zone"] = change.time_zone or None
    return after
