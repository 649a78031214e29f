"""Push devices: the app registers its token at every start, and unregisters it at sign-out.

A token names one app install: registered by another account (a shared phone, a new sign-in), it
moves to that account, so one person's pushes never reach the next person on that phone. A token the
provider calls invalid is deactivated by the delivery job (`deactivated_reason = invalid_token`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications import Device, Platform
from resolvers.audit import Actor
from resolvers.outcomes import Outcome, ProblemCode, Problems

TOKEN_MIN, TOKEN_MAX, APP_VERSION_MAX = 8, 4096, 32
UNREGISTERED = "unregistered"


@dataclass(frozen=True, slots=True)
class Registration:
    platform: Platform
    token: str
    app_version: str | None = None


def _check(data: Registration, problems: Problems) -> None:
    token = data.token.strip()
    if not TOKEN_MIN <= len(token) <= TOKEN_MAX or token != data.token or any(c.isspace() for c in token):
        problems.add("token", f"A push token: {TOKEN_MIN} to {TOKEN_MAX} characters, no spaces.")
    if data.app_version is not None:
        problems.require_length("appVersion", data.app_version, max_length=APP_VERSION_MAX, required=True)


async def register_device(
    session: AsyncSession,
    *,
    actor: Actor,
    user_id: int,
    data: Registration,
    max_devices: int,
    now: dt.datetime,
) -> Outcome[Device]:
    """The device with this token, now the person's and active; refreshed if it was already."""
    problems = Problems()
    _check(data, problems)
    if problems:
        return Outcome.refused(problems)
    # One count, then the upsert: a person past the limit signs out an old device first.
    active = await session.scalar(
        select(func.count()).where(
            Device.user_id == user_id,
            Device.active,
            (Device.platform != data.platform.value) | (Device.token != data.token),
        )
    )
    if (active or 0) >= max_devices:
        return Outcome.one_problem(
            "token", f"At most {max_devices} active devices: unregister one first.", ProblemCode.OUT_OF_RANGE
        )
    values = {
        "user_id": user_id,
        "platform": data.platform.value,
        "token": data.token,
        "app_version": data.app_version,
        "active": True,
        "deactivated_reason": None,
        "last_seen_at": now,
    }
    statement = insert(Device).values(values)
    device = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[Device.platform, Device.token],
            set_={k: statement.excluded[k] for k in values if k not in ("platform", "token")},
        ).returning(Device),
        execution_options={"populate_existing": True},
    )
    assert device is not None
    return Outcome(value=device, ref=("Device", device.id))


async def unregister_device(
    session: AsyncSession, *, actor: Actor, user_id: int, device_id: int
) -> Outcome[Device]:
    """The person's device, no longer sent pushes (kept for the delivery log)."""
    device = await session.scalar(
        select(Device).where(Device.id == device_id, Device.user_id == user_id).with_for_update()
    )
    if device is None:
        return Outcome.one_problem("id", "No device of yours with this id.", ProblemCode.NOT_FOUND)
    if device.active:
        device.active = False
        device.deactivated_reason = UNREGISTERED
    return Outcome(value=device, ref=("Device", device.id))
