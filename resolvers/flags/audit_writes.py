"""The audit rows of every flag change: the flag's trail (feature_flag_audit_log: action, old and new
values, reason, IP, request id) and the general audit_log (full before/after snapshots), both written
in the change's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.flags import FeatureFlag, FlagAuditAction, FlagAuditEntry, FlagRollout
from resolvers.audit import Actor, record_change, snapshot
from resolvers.flags.validation import blank_to_none

FLAG_ENTITY, ROLLOUT_ENTITY = "feature_flag", "feature_flag_rollout"
VARIANT_FIELDS = ("user_segment", "variant_key", "variant_value", "weight", "active")


def variant_view(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the flag's trail keeps of a variant row's snapshot."""
    return None if values is None else {name: values[name] for name in VARIANT_FIELDS}


async def audit_flag(
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
            change_reason=blank_to_none(reason),
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


async def audit_variant(
    session: AsyncSession,
    *,
    actor: Actor,
    flag: FeatureFlag,
    action: FlagAuditAction,
    row: FlagRollout,
    before: dict[str, Any] | None,
    reason: str | None,
) -> None:
    """Audit one variant row: `before` is its snapshot before the change (None when added)."""
    after = None if action is FlagAuditAction.VARIANT_REMOVE else snapshot(row)
    await audit_flag(
        session,
        actor=actor,
        flag=flag,
        action=action,
        old=variant_view(before),
        new=variant_view(after),
        reason=reason,
        entity=(ROLLOUT_ENTITY, row.id),
        before=before,
        after=after,
    )
