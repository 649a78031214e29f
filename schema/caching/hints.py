"""Cache hints, declared in the schema as Apollo's `@cacheControl` directive, and the policy they give
an operation.

    @cache_hint(max_age=300)                          # a type: every field returning it
    @strawberry.type
    class Merchant: ...

    me: User = strawberry.field(directives=[CacheControl(max_age=60, scope=CacheScope.PRIVATE)])

The rules are Apollo's: a field returning an object, an interface or a union, and every root field,
takes its own hint, else its type's hint, else 0 (not cacheable); a field whose type inherits
(`@cacheControl(inheritMaxAge: true)`: connections, edges, page info) adds no bound of its own; a
scalar or enum field of an object adds none either. The operation's max age is the smallest bound,
its scope PRIVATE when any hint used says so. A field of an abstract type takes the smallest hint of
the types it may be. The policy is computed from the document alone, before anything runs, so a
cache can be asked before execution; fields under `@skip`/`@include` count whether or not they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from strawberry.schema_directive import Location

T = TypeVar("T")


@strawberry.enum(
    name="CacheControlScope",
    description="Who may share a cached answer: everyone in the viewer's scope, or one user.",
)
class CacheScope(Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


@strawberry.schema_directive(
    name="cacheControl",
    locations=[Location.OBJECT, Location.FIELD_DEFINITION, Location.INTERFACE, Location.UNION],
    description="How long an answer made of this field or type may be served from a cache, and to whom.",
)
class CacheControl:
    # UNSET, not None: the SDL then shows only what a hint says, as Apollo's directive reads.
    max_age: int | None = strawberry.UNSET
    scope: CacheScope | None = strawberry.UNSET
    inherit_max_age: bool | None = strawberry.UNSET


def cache_hint(
    *, max_age: int | None = None, scope: CacheScope | None = None, inherit_max_age: bool | None = None
) -> Callable[[T], T]:
    """Put `@cacheControl` on a Strawberry type (apply above `@strawberry.type`)."""
    given = {"max_age": max_age, "scope": scope, "inherit_max_age": inherit_max_age}
    directive = CacheControl(**{k: v for k, v in given.items() if v is not None})

    def apply(cls: T) -> T:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        definition.directives = (*(definition.directives or ()), directive)
        return cls

    return apply


@dataclass(frozen=True, slots=True)
class Policy:
    """How an operation's answer may be cached: for `max_age` seconds (0: not at all), by `scope`."""

    max_age: int
    scope: CacheScope

    @property
    def cacheable(self) -> bool:
        return self.max_age > 0


NOT_CACHEABLE = Policy(0, CacheScope.PUBLIC)
# What a type or field without a directive says: nothing (a bound comes from elsewhere, or is 0).
_SILENT: tuple[int | None, CacheScope | None, bool] = (None, None, False)


def _directive(definition: Any) -> tuple[int | None, CacheScope | None, bool]:
    strawberry_definition = (getattr(definition, "extensions", None) or {}).get("strawberry-definition")
    for directive in getattr(strawberry_definition, "directives", None) or ():
        if isinstance(directive, CacheControl):
            age, scope = directive.max_age, directive.scope
            return (
                None if age is strawberry.UNSET else age,
                None if scope is strawberry.UNSET else scope,
                directive.inherit_max_age is True,
            )
    return _SILENT


class Hints:
    """The hints of one schema, read from its directives once per type and field."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._types: dict[str, tuple[int | None, CacheScope | None, bool]] = {}

    def of_type(self, named: GraphQLNamedType) -> tuple[int | None, CacheScope | None, bool]:
        found = self._types.get(named.name)
        if found is None:
            found = self._types[named.name] = self._of_type(named)
        return found

    def _of_type(self, named: GraphQLNamedType) -> tuple[int | None, CacheScope | None, bool]:
        own = _directive(named)
        if own != _SILENT or not isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            return own
        # An abstract type says what the least of its possible types says.
        possible = self.schema.get_possible_types(named)
        hints = [self.of_type(t) for t in possible]
        if not hints or any(age is None for age, _, _ in hints):
            return _SILENT
        scope = CacheScope.PRIVATE if any(s is CacheScope.PRIVATE for _, s, _ in hints) else None
        return min(age for age, _, _ in hints if age is not None), scope, False

    def _items_of(self, connection: GraphQLNamedType) -> tuple[int | None, CacheScope | None, bool]:
        edges = getattr(connection, "fields", {}).get("edges")
        edge = get_named_type(edges.type) if edges is not None else None
        node = getattr(edge, "fields", {}).get("node") if edge is not None else None
        if node is None:
            return _SILENT
        own = _directive(node)
        return own if own != _SILENT else self.of_type(get_named_type(node.type))

    def policy(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
    ) -> Policy:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return NOT_CACHEABLE
        bounds: list[int] = []
        private = [False]
        self._walk(root, operation.selection_set, fragments, bounds, private, root_level=True, seen=set())
        if not bounds:
            return NOT_CACHEABLE  # nothing bounded it: Apollo's default for a root field is 0
        return Policy(min(bounds), CacheScope.PRIVATE if private[0] else CacheScope.PUBLIC)

    def _walk(
        self,
        parent: GraphQLNamedType,
        selections: SelectionSetNode,
        fragments: dict[str, FragmentDefinitionNode],
        bounds: list[int],
        private: list[bool],
        *,
        root_level: bool,
        seen: set[str],
    ) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(parent, selection, fragments, bounds, private, root_level=root_level, seen=seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self._walk(
                    inner or parent, selection.selection_set, fragments, bounds, private,
                    root_level=root_level, seen=seen,
                )  # fmt: skip
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    continue
                inner = self.schema.get_type(fragment.type_condition.name.value)
                self._walk(
                    inner or parent, fragment.selection_set, fragments, bounds, private,
                    root_level=root_level, seen=seen | {name},
                )  # fmt: skip

    def _field(
        self,
        parent: GraphQLNamedType,
        node: FieldNode,
        fragments: dict[str, FragmentDefinitionNode],
        bounds: list[int],
        private: list[bool],
        *,
        root_level: bool,
        seen: set[str],
    ) -> None:
        name = node.name.value
        if name == "__typename" or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        if name in ("__schema", "__type"):
            bounds.append(0)  # introspection changes with deployments, not writes: never cached here
            return
        field = parent.fields.get(name)
        if field is None:
            bounds.append(0)
            return
        named = get_named_type(field.type)
        composite = isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        age, scope, inherits = _directive(field)
        if (age, scope, inherits) == _SILENT and composite:
            age, scope, inherits = self.of_type(named)
        if scope is CacheScope.PRIVATE:
            private[0] = True
        if age is None and inherits and root_level:
            # A root connection is its items: it is as fresh as the type of its nodes says.
            age, scope, _ = self._items_of(named)
            if scope is CacheScope.PRIVATE:
                private[0] = True
            bounds.append(age or 0)
        elif age is not None:
            bounds.append(age)
        elif (composite or root_level) and not inherits:
            bounds.append(0)
        if composite and node.selection_set is not None:
            self._walk(named, node.selection_set, fragments, bounds, private, root_level=False, seen=seen)


def smallest(policies: Iterable[Policy]) -> Policy:
    """The policy of several answers served together (a batch): the strictest of them."""
    listed = list(policies)
    if not listed:
        return NOT_CACHEABLE
    private = any(p.scope is CacheScope.PRIVATE for p in listed)
    return Policy(min(p.max_age for p in listed), CacheScope.PRIVATE if private else CacheScope.PUBLIC)
