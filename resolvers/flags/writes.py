"""Feature-flag writes: create, update, the kill switch, rollout percentage and delete.

Every change locks its flag row (SELECT ... FOR UPDATE), so concurrent changes of one flag apply one
after the other and a variant group is checked against the rows really there. Every change writes its
audit rows (resolvers/flags/audit_writes.py) in its own transaction. A change that changes nothing
writes nothing.

Variant groups are written by resolvers/flags/variant_writes.py, which shares this module's locking.

The key of a flag never changes: the apps look flags up by it and bucketing hashes it.
Evaluation reads flags and rollouts from the database on every request (there is no cache), so the
next request after the commit sees a change; a cache added later must be invalidated by these writes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.flags import FeatureFlag, FlagAuditAction, FlagCategory, FlagRollout, FlagType
from resolvers.audit import Actor, snapshot
from resolvers.flags.audit_writes import FLAG_ENTITY, audit_flag, variant_view
from resolvers.flags.validation import (
    DESCRIPTION_MAX,
    KEY_MAX,
    KEY_PATTERN,
    NAME_MAX,
    blank_to_none,
    check_email,
    check_reason,
)
from resolvers.outcomes import Outcome, ProblemCode, Problems

A = FlagAuditAction


@dataclass(frozen=True, slots=True)
class FlagRef:
    """The flag a mutation targets, by id or by key; `field` names the input field for errors."""

    id: int | None = None
    key: str | None = None
    field: str = "id"


@dataclass(frozen=True, slots=True)
class NewFlag:
    key: str
    name: str
    category: FlagCategory
    type: FlagType = FlagType.RELEASE
    description: str | None = None
    enabled: bool = False
    rollout_percentage: int = 100
    owner_email: str | None = None


@dataclass(frozen=True, slots=True)
class FlagChanges:
    """Descriptive fields of a flag; None leaves one unchanged, "" clears description or owner."""

    name: str | None = None
    description: str | None = None
    category: FlagCategory | None = None
    type: FlagType | None = None
    owner_email: str | None = None


async def lock_flag(session: AsyncSession, ref: FlagRef) -> FeatureFlag | None:
    """The flag `ref` names, locked until the transaction ends; None when there is none."""
    # FOR UPDATE: changes of one flag (and of its variant groups) apply one after the other.
    query = select(FeatureFlag).with_for_update().execution_options(populate_existing=True)
    if ref.id is not None:
        return await session.scalar(query.where(FeatureFlag.id == ref.id))
    return await session.scalar(query.where(FeatureFlag.key == ref.key))


def replay_ref(flag: FeatureFlag) -> tuple[str, int]:
    """What an idempotent replay of a change of `flag` rereads."""
    return ("FeatureFlag", flag.id)


def no_such_flag(ref: FlagRef) -> Outcome[Any]:
    """The refusal of a change whose flag does not exist."""
    return Outcome.one_problem(ref.field, "No such flag.", ProblemCode.NOT_FOUND)


async def create_flag(
    *, session: AsyncSession, actor: Actor, data: NewFlag, reason: str | None = None
) -> Outcome[FeatureFlag]:
    """Create a flag; its key must be a free slug."""
    problems = Problems()
    problems.require_length("key", data.key, max_length=KEY_MAX, required=True)
    if data.key and len(data.key) <= KEY_MAX and not KEY_PATTERN.match(data.key):
        problems.add("key", "Lower-case letters, digits, '_', '.' and '-', starting with a letter or digit.")
    problems.require_length("name", data.name, max_length=NAME_MAX, required=True)
    problems.require_length("description", data.description, max_length=DESCRIPTION_MAX)
    problems.require_range("rollout_percentage", data.rollout_percentage, low=0, high=100)
    check_email(problems, data.owner_email)
    check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    values.update(
        category=data.category.value,
        type=data.type.value,
        description=blank_to_none(data.description),
        owner_email=blank_to_none(data.owner_email),
        created_by=actor.label,
        updated_by=actor.label,
    )
    # ON CONFLICT: of two concurrent creations of one key, the second learns TAKEN instead of failing.
    flag_id = await session.scalar(
        pg_insert(FeatureFlag)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[FeatureFlag.key])
        .returning(FeatureFlag.id)
    )
    if flag_id is None:
        return Outcome.one_problem("key", "A flag with this key exists.", ProblemCode.TAKEN)
    flag = await session.get_one(FeatureFlag, flag_id)
    after = snapshot(flag)
    await audit_flag(
        session,
        actor=actor,
        flag=flag,
        action=A.CREATE,
        old=None,
        new=after,
        reason=reason,
        entity=(FLAG_ENTITY, flag.id),
        before=None,
        after=after,
    )
    return Outcome(value=flag, ref=replay_ref(flag))


async def _change(
    session: AsyncSession,
    *,
    actor: Actor,
    flag: FeatureFlag,
    action: FlagAuditAction,
    values: dict[str, Any],
    reason: str | None,
) -> Outcome[FeatureFlag]:
    """Set the values that differ, and audit them with their old values."""
    changed = {name: value for name, value in values.items() if getattr(flag, name) != value}
    if not changed:
        return Outcome(value=flag, ref=replay_ref(flag))
    before = snapshot(flag)
    old = {name: getattr(flag, name) for name in changed}
    for name, value in changed.items():
        setattr(flag, name, value)
    flag.updated_by = actor.label
    await session.flush()
    await session.refresh(flag)
    await audit_flag(
        session,
        actor=actor,
        flag=flag,
        action=action,
        old=old,
        new=changed,
        reason=reason,
        entity=(FLAG_ENTITY, flag.id),
        before=before,
        after=snapshot(flag),
    )
    return Outcome(value=flag, ref=replay_ref(flag))


async def update_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, changes: FlagChanges, reason: str | None = None
) -> Outcome[FeatureFlag]:
    """Change a flag's name, description, category, type or owner."""
    problems = Problems()
    if changes.name is not None:
        problems.require_length("name", changes.name, max_length=NAME_MAX, required=True)
    problems.require_length("description", changes.description, max_length=DESCRIPTION_MAX)
    check_email(problems, changes.owner_email)
    check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    values: dict[str, Any] = {}
    if changes.name is not None:
        values["name"] = changes.name
    for name in ("description", "owner_email"):
        if getattr(changes, name) is not None:
            values[name] = blank_to_none(getattr(changes, name))
    for name in ("category", "type"):
        if getattr(changes, name) is not None:
            values[name] = getattr(changes, name).value
    return await _change(session, actor=actor, flag=flag, action=A.UPDATE, values=values, reason=reason)


async def toggle_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, enabled: bool, reason: str | None
) -> Outcome[FeatureFlag]:
    """Switch a flag on or off for everyone (the kill switch); a reason is required."""
    problems = Problems()
    check_reason(problems, reason, required=True)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    return await _change(
        session, actor=actor, flag=flag, action=A.TOGGLE, values={"enabled": enabled}, reason=reason
    )


async def set_rollout_percentage(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, percentage: int, reason: str | None = None
) -> Outcome[FeatureFlag]:
    """Set the share of users (0-100) who get the flag."""
    problems = Problems()
    problems.require_range("rollout_percentage", percentage, low=0, high=100)
    check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    values = {"rollout_percentage": percentage}
    return await _change(session, actor=actor, flag=flag, action=A.ROLLOUT, values=values, reason=reason)


async def delete_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, reason: str | None = None
) -> Outcome[int]:
    """Delete a flag and its variants; its audit trail stays, keyed by the flag's key."""
    problems = Problems()
    check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await lock_flag(session, ref)
    if flag is None:
        return no_such_flag(ref)
    rollouts = await session.scalars(
        select(FlagRollout).where(FlagRollout.flag_id == flag.id).order_by(FlagRollout.id)
    )
    before = {**snapshot(flag), "variants": [variant_view(snapshot(row)) for row in rollouts]}
    # Written first, while the flag exists: the delete then sets its flag_id to NULL (ON DELETE SET NULL).
    await audit_flag(
        session,
        actor=actor,
        flag=flag,
        action=A.DELETE,
        old=before,
        new=None,
        reason=reason,
        entity=(FLAG_ENTITY, flag.id),
        before=before,
        after=None,
    )
    await session.delete(flag)
    await session.flush()
    return Outcome(value=flag.id, ref=replay_ref(flag))
