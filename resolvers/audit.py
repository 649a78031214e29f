"""The general audit log, written by the application in the change's own transaction (it alone knows
the actor, the IP and the request id)."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Viewer
from models.admin import AuditLogEntry

# Never copied into audit rows: secrets stay where they are hashed.
SECRET_COLUMNS = frozenset({"password_hash", "key_hash", "token_hash", "search"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is writing, and from where."""

    viewer: Viewer
    ip_address: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        # Audit rows store the address in INET columns: anything that is not an IP is not recorded.
        object.__setattr__(self, "ip_address", _ip_or_none(self.ip_address))

    @property
    def label(self) -> str:
        return self.viewer.label


def _ip_or_none(value: str | None) -> str | None:
    try:
        return None if value is None else str(ipaddress.ip_address(value))
    except ValueError:
        return None


def snapshot(row: Any) -> dict[str, Any]:
    """A JSON-ready copy of a model row's columns, for before/after."""
    values: dict[str, Any] = {}
    for attr in inspect(row).mapper.column_attrs:
        if attr.key in SECRET_COLUMNS:
            continue
        value = getattr(row, attr.key)
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        elif isinstance(value, decimal.Decimal):
            value = str(value)
        values[attr.key] = value
    return values


async def record_change(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit row: who did what to which entity, with the state before and after."""
    await session.execute(
        insert(AuditLogEntry).values(
            actor_user_id=actor.viewer.user_id,
            actor_label=actor.label,
            actor_role=actor.viewer.role.value,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            ip_address=actor.ip_address,
            request_id=actor.request_id,
        )
    )
