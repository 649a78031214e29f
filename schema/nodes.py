"""`node(id)` / `nodes(ids)` resolution shared by every entity: type policy, then row visibility."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from strawberry.types import Info

from core.errors import BadUserInput, Forbidden
from schema.permissions import type_roles


def _int_id(node_id: str) -> int:
    try:
        return int(node_id)
    except ValueError as exc:
        raise BadUserInput("The id is not one this API issued.", field="id") from exc


async def resolve_visible(
    type_name: str,
    info: Info,
    node_ids: Iterable[str],
    loader: type,
    convert: Callable[[Any], Any],
) -> list[Any]:
    """Load nodes through a visibility-applying loader; an invisible row resolves to null (not found)."""
    if info.context.viewer.role not in type_roles(type_name):
        raise Forbidden(f"You are not allowed to see {type_name} objects.")
    rows = await info.context.loader(loader).load_many([_int_id(i) for i in node_ids])
    return [None if row is None else convert(row) for row in rows]
