"""`node(id)` / `nodes(ids)` resolution shared by every entity: type policy, then row visibility."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from strawberry import relay
from strawberry.types import Info

from core.errors import BadUserInput, Forbidden
from schema.mutation_runner import MAX_BIGINT, pk_of
from schema.permissions import type_roles


def _int_id(node_id: str) -> int:
    # Ids are BIGINT identity keys: any other number was not issued here, and one beyond BIGINT would
    # fail in the driver, not as a missing row.
    try:
        pk = int(node_id)
    except ValueError as exc:
        raise BadUserInput("The id is not one this API issued.", field="id") from exc
    if not 0 < pk <= MAX_BIGINT:
        raise BadUserInput("The id is not one this API issued.", field="id")
    return pk


def filter_pk(value: str | relay.GlobalID | None, type_name: str, field: str) -> int | None:
    """The database id inside the global id of a `type_name` that a filter argument gives (None for no
    filter); BAD_USER_INPUT for anything else, so no other value reaches SQL."""
    if value is None:
        return None
    try:
        gid = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
    except ValueError:
        gid = None
    pk = pk_of(gid, type_name)
    if pk is None:
        raise BadUserInput(f"Not a {type_name} id.", field=field)
    return pk


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


class LoadedNode:
    """Mixed into a Relay node type, before `relay.Node`: `node(id)`, `nodes(ids)` and federation's
    `_entities` resolve it through its `by_id_loader` (row visibility in the SQL), after its type policy."""

    by_id_loader: ClassVar[type]

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        name = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
        return await resolve_visible(name, info, node_ids, cls.by_id_loader, cls.from_row)  # type: ignore[attr-defined]


async def node_of(info: Info, gid: Any, node_type: Any) -> Any:
    """The `node_type` object a root field's global id names, as `node(id)` resolves it; null for an id
    of another type."""
    if gid.type_name != node_type.__name__:
        return None
    (found,) = await node_type.resolve_nodes(info=info, node_ids=[gid.node_id])
    return found
