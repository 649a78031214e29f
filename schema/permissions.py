"""Field policies: who may see what (ARCHITECTURE.md, "Every field says who may see it").

Root and relation fields carry their own policy (`permission_classes=[allow(...)]`); plain scalar
fields inherit the policy of their type (`@type_policy(...)`), because the object was already
authorised on the field that reached it. Sensitive scalars (email, phone, balances) carry their
own. tests/schema/test_permissions.py walks the schema and fails on any field covered by none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, TypeVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from core.errors import ErrorCode
from core.viewer import Role

T = TypeVar("T")

# GraphQL type name -> roles that may see the type's plain fields.
TYPE_POLICIES: dict[str, frozenset[Role]] = {}


class RolePolicy(BasePermission):
    """Allows the field to viewers whose role is in `roles`."""

    roles: frozenset[Role] = frozenset()
    message = "You are not allowed to see this field."
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.role in self.roles


@cache
def _policy(roles: frozenset[Role]) -> type[RolePolicy]:
    name = "Allow" + "".join(sorted(r.value.title() for r in roles))
    return type(name, (RolePolicy,), {"roles": roles})


def allow(*roles: Role | Iterable[Role]) -> type[RolePolicy]:
    """The permission class admitting these roles (groups such as STAFF may be passed whole)."""
    flat: set[Role] = set()
    for role in roles:
        flat.update([role] if isinstance(role, Role) else role)
    return _policy(frozenset(flat))


def type_policy(*roles: Role | Iterable[Role], name: str | None = None) -> Callable[[T], T]:
    """Declare who may see the plain fields of a GraphQL type."""
    policy = allow(*roles)

    def register(cls: T) -> T:
        TYPE_POLICIES[name or cls.__name__] = policy.roles  # type: ignore[attr-defined]
        return cls

    return register


def type_roles(type_name: str) -> frozenset[Role]:
    return TYPE_POLICIES.get(type_name, frozenset())
