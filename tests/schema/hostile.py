"""Where the hostile-input property test puts its values: every leaf of every argument of every root
field (an input object's fields, a list's items), and the request that calls a field with a value there.

A target's call puts the hostile value at its place and a harmless value of the right type in every other
required place, so the value reaches the resolver that would mishandle it; ids name rows that exist
(tests/schema/test_hostile_inputs.py creates one of each). The values are tests/schema/hostile_values.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
)
from strawberry import relay

from schema import schema
from tests.schema.calls import literal, root_fields, selection

# Leaves whose every value graphql-core itself checks exactly: nothing hostile gets through them.
STRICT_LEAVES = {"Boolean"}
# Relay node types; an id argument is given one of these, guessed from its name.
NODE_TYPES = sorted(
    name
    for name, t in schema._schema.type_map.items()
    if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
)


@dataclass(frozen=True)
class Literal:
    """A value written into the document as is (a numeral JSON cannot carry: 1e400, 100k digits)."""

    text: str


@dataclass(frozen=True)
class Target:
    operation: str  # "query" or "mutation"
    field_name: str
    field: GraphQLField
    path: tuple[str, ...]  # argument, then input fields; "[]" for a list's item
    position: GraphQLInputType  # the type at the path, as a variable there is declared

    @property
    def leaf(self) -> GraphQLNamedType:
        return get_named_type(self.position)

    @property
    def label(self) -> str:
        return f"{self.field_name}({'.'.join(self.path)})"


def _leaves(gql_type: GraphQLInputType, path: tuple[str, ...], depth: int = 0) -> Iterator[tuple[Any, ...]]:
    inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    if isinstance(inner, GraphQLList):
        yield from _leaves(inner.of_type, (*path, "[]"), depth)
    elif isinstance(inner, GraphQLInputObjectType):
        if depth < 4:
            for name, field in inner.fields.items():
                yield from _leaves(field.type, (*path, name), depth + 1)
    elif not isinstance(inner, GraphQLEnumType) and inner.name not in STRICT_LEAVES:
        yield path, gql_type


def targets() -> list[Target]:
    """Every hostile-able leaf of every argument of every root query and mutation field."""
    found = []
    for operation in ("query", "mutation"):
        for name, field in sorted(root_fields(operation).items()):
            for argument, definition in field.args.items():
                for path, position in _leaves(definition.type, (argument,)):
                    found.append(Target(operation, name, field, path, position))
    return found


# ---------------------------------------------------------------- harmless values elsewhere


def _words(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def node_type_for(name: str, field_name: str) -> str:
    """The node type an id argument called `name` of `field_name` most likely names."""
    stem = re.sub(r"Ids?$", "", name).lower()
    if stem and stem != name.lower():
        named = [t for t in NODE_TYPES if stem.endswith(t.lower())]  # actorUserId: a User
        if named:
            return max(named, key=len)
        widened = [t for t in NODE_TYPES if t.lower().endswith(stem)]  # categoryId: a MerchantCategory
        if widened:
            return min(widened, key=len)
    inside = [t for t in NODE_TYPES if _words(t) in _words(field_name[:1].upper() + field_name[1:])]
    return max(inside, key=len) if inside else "MerchantCategory"


def harmless(gql_type: GraphQLInputType, name: str, field_name: str) -> str:
    """A valid literal of `gql_type` for the input called `name`, whose ids name rows of the type the
    input's name suggests (id 1 of every type exists)."""

    def id_of(input_name: str) -> str:
        return f'"{relay.to_base64(node_type_for(input_name, field_name), 1)}"'

    return literal(gql_type, id_of, name)


def _with(gql_type: GraphQLInputType, path: tuple[str, ...], value: str, field_name: str) -> str:
    """A literal of `gql_type` holding `value` (a variable or literal text) at `path`."""
    if isinstance(gql_type, GraphQLNonNull):
        return _with(gql_type.of_type, path, value, field_name)
    if not path:
        return value
    if isinstance(gql_type, GraphQLList):
        return f"[{_with(gql_type.of_type, path[1:], value, field_name)}]"
    assert isinstance(gql_type, GraphQLInputObjectType)
    parts = []
    for name, field in gql_type.fields.items():
        if name == path[0]:
            parts.append(f"{name}: {_with(field.type, path[1:], value, field_name)}")
        elif isinstance(field.type, GraphQLNonNull):
            parts.append(f"{name}: {harmless(field.type, name, field_name)}")
    return "{" + ", ".join(parts) + "}"


def request(probes: list[tuple[Target, Any]]) -> dict[str, Any]:
    """One request of one operation type: an aliased call per probe, each with its hostile value at its
    target's place (a variable, or the literal text of a `Literal`)."""
    variables: dict[str, Any] = {}
    declarations: list[str] = []
    calls: list[str] = []
    for index, (target, value) in enumerate(probes):
        if isinstance(value, Literal):
            text = value.text
        else:
            text = f"$v{index}"
            variables[f"v{index}"] = value
            declarations.append(f"$v{index}: {target.position}")
        args = []
        for name, definition in target.field.args.items():
            if name == target.path[0]:
                args.append(f"{name}: {_with(definition.type, target.path[1:], text, target.field_name)}")
            elif isinstance(definition.type, GraphQLNonNull):
                args.append(f"{name}: {harmless(definition.type, name, target.field_name)}")
        arguments = f"({', '.join(args)})" if args else ""
        calls.append(f"a{index}: {target.field_name}{arguments}{selection(target.field)}")
    operation = probes[0][0].operation
    header = f"{operation}({', '.join(declarations)})" if declarations else operation
    return {"query": f"{header} {{ {' '.join(calls)} }}", "variables": variables}
