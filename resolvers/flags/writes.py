"""Feature-flag writes: create, update, the kill switch, rollout percentage, delete, and rollout variants.

Every change locks its flag row (SELECT ... FOR UPDATE), so concurrent changes of one flag apply one
after the other and a variant group is checked against the rows really there. Every change writes, in
its own transaction, the flag's trail (feature_flag_audit_log: action, old and new values, reason, IP,
request id) and the general audit_log (full before/after snapshots). A change that changes nothing
writes nothing.

Variant groups are written by resolvers/flags/variant_writes.py, which shares this module's locking and
auditing.

The key of a flag never changes: the apps look flags up by it and bucketing hashes it.
Evaluation reads flags and rollouts from the database on every request (there is no cache), so the
next request after the commit sees a change; a cache added later must be invalidated by these writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.flags import FeatureFlag, FlagAuditAction, FlagAuditEntry, FlagCategory, FlagRollout, FlagType
from resolvers.audit import Actor, record_change, snapshot
from resolvers.outcomes import Outcome, ProblemCode, Problems

A = FlagAuditAction
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")  # ck_feature_flags_key_slug
VARIANT_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEY_MAX, NAME_MAX, DESCRIPTION_MAX, EMAIL_MAX = 100, 255, 5000, 320
REASON_MAX, SEGMENT_MAX, VARIANT_VALUE_MAX, GROUP_MAX = 500, 100, 5000, 50
FLAG_ENTITY, ROLLOUT_ENTITY = "feature_flag", "feature_flag_rollout"
VARIANT_FIELDS = ("user_segment", "variant_key", "variant_value", "weight", "active")
USE_SET = "Change several variants of a group at once with setFlagVariants."


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


def _check_email(problems: Problems, value: str | None) -> None:
    problems.require_length("owner_email", value, max_length=EMAIL_MAX)
    if value and len(value) <= EMAIL_MAX and not EMAIL_PATTERN.match(value):
        problems.add("owner_email", "Not an email address.")


def _check_reason(problems: Problems, reason: str | None, *, required: bool = False) -> None:
    problems.require_length("reason", reason, max_length=REASON_MAX, required=required)


def _check_segment(problems: Problems, segment: str | None) -> None:
    if segment is not None and not segment.strip():
        message = "Omit the segment for the variants of every segment."
        problems.add("user_segment", message, ProblemCode.REQUIRED)
    problems.require_length("user_segment", segment, max_length=SEGMENT_MAX)


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


# audit ------------------------------------------------------------------------------------------


def _variant_view(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the flag's trail keeps of a variant row's snapshot."""
    return None if values is None else {name: values[name] for name in VARIANT_FIELDS}


async def _audit(
    session: AsyncSession,
    *,
    actor: Actor,
    flag: FeatureFlag,
    action: FlagAuditAction,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str | None,
    entity: tuple[str, int],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write the flag's audit row and the general audit row of one change."""
    await session.execute(
        insert(FlagAuditEntry).values(
            flag_id=flag.id,
            flag_key=flag.key,
            action=action.value,
            old_value=old,
            new_value=new,
            changed_by=actor.label,
            actor_user_id=actor.viewer.user_id,
            change_reason=_blank_to_none(reason),
            ip_address=actor.ip_address,
            request_id=actor.request_id,
        )
    )
    await record_change(
        session,
        actor=actor,
        action=f"{FLAG_ENTITY}.{action.value}",
        entity_type=entity[0],
        entity_id=entity[1],
        before=before,
        after=after,
    )


# flags ------------------------------------------------------------------------------------------


async def _locked(session: AsyncSession, ref: FlagRef) -> FeatureFlag | None:
    # FOR UPDATE: changes of one flag (and of its variant groups) apply one after the other.
    query = select(FeatureFlag).with_for_update().execution_options(populate_existing=True)
    if ref.id is not None:
        return await session.scalar(query.where(FeatureFlag.id == ref.id))
    return await session.scalar(query.where(FeatureFlag.key == ref.key))


def _ref(flag: FeatureFlag) -> tuple[str, int]:
    return ("FeatureFlag", flag.id)


def _no_flag(ref: FlagRef) -> Outcome[Any]:
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
    _check_email(problems, data.owner_email)
    _check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    values.update(
        category=data.category.value,
        type=data.type.value,
        description=_blank_to_none(data.description),
        owner_email=_blank_to_none(data.owner_email),
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
    await _audit(
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
    return Outcome(value=flag, ref=_ref(flag))


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
        return Outcome(value=flag, ref=_ref(flag))
    before = snapshot(flag)
    old = {name: getattr(flag, name) for name in changed}
    for name, value in changed.items():
        setattr(flag, name, value)
    flag.updated_by = actor.label
    await session.flush()
    await session.refresh(flag)
    await _audit(
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
    return Outcome(value=flag, ref=_ref(flag))


async def update_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, changes: FlagChanges, reason: str | None = None
) -> Outcome[FeatureFlag]:
    """Change a flag's name, description, category, type or owner."""
    problems = Problems()
    if changes.name is not None:
        problems.require_length("name", changes.name, max_length=NAME_MAX, required=True)
    problems.require_length("description", changes.description, max_length=DESCRIPTION_MAX)
    _check_email(problems, changes.owner_email)
    _check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await _locked(session, ref)
    if flag is None:
        return _no_flag(ref)
    values: dict[str, Any] = {}
    if changes.name is not None:
        values["name"] = changes.name
    for name in ("description", "owner_email"):
        if getattr(changes, name) is not None:
            values[name] = _blank_to_none(getattr(changes, name))
    for name in ("category", "type"):
        if getattr(changes, name) is not None:
            values[name] = getattr(changes, name).value
    return await _change(session, actor=actor, flag=flag, action=A.UPDATE, values=values, reason=reason)


async def toggle_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, enabled: bool, reason: str | None
) -> Outcome[FeatureFlag]:
    """Switch a flag on or off for everyone (the kill switch); a reason is required."""
    problems = Problems()
    _check_reason(problems, reason, required=True)
    if problems:
        return Outcome.refused(problems)
    flag = await _locked(session, ref)
    if flag is None:
        return _no_flag(ref)
    return await _change(
        session, actor=actor, flag=flag, action=A.TOGGLE, values={"enabled": enabled}, reason=reason
    )


async def set_rollout_percentage(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, percentage: int, reason: str | None = None
) -> Outcome[FeatureFlag]:
    """Set the share of users (0-100) who get the flag."""
    problems = Problems()
    problems.require_range("rollout_percentage", percentage, low=0, high=100)
    _check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await _locked(session, ref)
    if flag is None:
        return _no_flag(ref)
    values = {"rollout_percentage": percentage}
    return await _change(session, actor=actor, flag=flag, action=A.ROLLOUT, values=values, reason=reason)


async def delete_flag(
    *, session: AsyncSession, actor: Actor, ref: FlagRef, reason: str | None = None
) -> Outcome[int]:
    """Delete a flag and its variants; its audit trail stays, keyed by the flag's key."""
    problems = Problems()
    _check_reason(problems, reason)
    if problems:
        return Outcome.refused(problems)
    flag = await _locked(session, ref)
    if flag is None:
        return _no_flag(ref)
    rollouts = await session.scalars(
        select(FlagRollout).where(FlagRollout.flag_id == flag.id).order_by(FlagRollout.id)
    )
    before = {**snapshot(flag), "variants": [_variant_view(snapshot(row)) for row in rollouts]}
    # Written first, while the flag exists: the delete then sets its flag_id to NULL (ON DELETE SET NULL).
    await _audit(
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
    return Outcome(value=flag.id, ref=_ref(flag))


# variants ---------------------------------------------------------------------------------------
