"""Viewers and helpers shared by the merchant and ML tests (and the campaigns' loader tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer

# No user_id: audit rows reference users by a foreign key, and these viewers have no user row.
ADMIN = Viewer(role=Role.ADMIN)
MARKETER = Viewer(role=Role.MARKETER)
ANALYST = Viewer(role=Role.ANALYST)
MERCHANT = Viewer(role=Role.MERCHANT, merchant_id=1)
CUSTOMER = Viewer(role=Role.CUSTOMER)
SERVICE = Viewer(role=Role.SERVICE)
ALL = {v.role: v for v in (ADMIN, MARKETER, ANALYST, MERCHANT, CUSTOMER, SERVICE, ANONYMOUS)}


def others(*allowed: Role) -> list[Viewer]:
    """Every viewer whose role is not in `allowed`."""
    return [v for role, v in ALL.items() if role not in allowed]


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


async def count(db: AsyncSession, model: type, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def errors_of(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]
