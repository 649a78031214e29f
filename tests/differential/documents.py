"""Every query document the project already holds: the README's ```graphql blocks and the GraphQL
string literals of tests/**/*.py (each candidate parsed with graphql-core; those with a query operation
kept), each query operation run as every role. Required variables are filled from the seeded state
where their type and use allow (an id of the type the argument names, a real flag key, a number...);
a document whose required variables cannot be filled is skipped and counted.
"""

from __future__ import annotations

import ast
import datetime as dt
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    type_from_ast,
)

from core.settings import PROJECT_ROOT
from tests.differential.compare import Case
from tests.differential.values import Values
from tests.differential.world import ROLES, World

TESTS = PROJECT_ROOT / "tests"
HERE = Path(__file__).parent
README_BLOCKS = re.compile(r"```graphql\n(.*?)```", re.S)


class Unfillable(Exception):
    """A required variable of a type or use no value can be made for."""


def found_documents() -> list[tuple[str, str]]:
    """(where, text) of every distinct document holding a query operation, README first."""
    candidates = [
        ("README.md", block)
        for block in README_BLOCKS.findall((PROJECT_ROOT / "README.md").read_text("utf-8"))
    ]
    for path in sorted(TESTS.rglob("*.py")):
        if HERE in path.parents:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
                candidates.append((f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}", node.value))
    seen: set[str] = set()
    out = []
    for where, text in candidates:
        if text in seen:
            continue
        try:
            document = graphql.parse(text)
        except graphql.GraphQLError:
            continue
        if any(_is_query(d) for d in document.definitions):
            seen.add(text)
            out.append((where, text))
    return out


def _is_query(definition: Any) -> bool:
    return isinstance(definition, OperationDefinitionNode) and definition.operation is OperationType.QUERY


def _usages(node: Any, field: str | None = None, root: bool = True) -> Iterator[tuple[str, str, str | None]]:
    """(variable, argument or input field name, root field name or None) for each use of a variable."""
    if isinstance(node, graphql.FieldNode):
        for argument in node.arguments or ():
            yield from _value_usages(argument.value, argument.name.value, node.name.value if root else None)
        if node.selection_set:
            for s in node.selection_set.selections:
                yield from _usages(s, node.name.value, root=False)
    elif isinstance(
        node, graphql.InlineFragmentNode | OperationDefinitionNode | graphql.FragmentDefinitionNode
    ):
        for s in node.selection_set.selections:
            yield from _usages(s, field, root=root and not isinstance(node, graphql.FragmentDefinitionNode))


def _value_usages(value: Any, name: str, root_field: str | None) -> Iterator[tuple[str, str, str | None]]:
    if isinstance(value, graphql.VariableNode):
        yield value.name.value, name, root_field
    elif isinstance(value, graphql.ObjectValueNode):
        for f in value.fields:
            yield from _value_usages(f.value, f.name.value, None)
    elif isinstance(value, graphql.ListValueNode):
        for v in value.values:
            yield from _value_usages(v, name, root_field)


class Filler:
    def __init__(self, schema: GraphQLSchema, world: World) -> None:
        self.schema = schema
        self.world = world
        self.values = Values(schema, world, "admin", random.Random(0))

    def value(self, t: GraphQLInputType, name: str, root_field: str | None) -> Any:
        if isinstance(t, GraphQLNonNull):
            t = t.of_type
        if isinstance(t, GraphQLList):
            return [self.value(t.of_type, name, root_field)]
        if isinstance(t, GraphQLEnumType):
            return next(iter(t.values))
        if isinstance(t, GraphQLInputObjectType):
            return {
                key: self.value(f.type, key, None)
                for key, f in t.fields.items()
                if isinstance(f.type, GraphQLNonNull) and f.default_value is graphql.Undefined
            }
        today = dt.date.fromisoformat(self.world.today)
        simple = {
            "Int": 5,
            "Float": 1.0,
            "Boolean": True,
            "Decimal": "10",
            "Date": today.isoformat(),
            "DateTime": f"{today.isoformat()}T00:00:00+00:00",
            "JSON": {},
        }
        if t.name in simple:  # type: ignore[union-attr]
            return simple[t.name]  # type: ignore[union-attr]
        if t.name == "_Any":  # type: ignore[union-attr]
            return {"__typename": "Merchant", "id": self.values.global_id("Merchant")}
        if t.name == "ID":  # type: ignore[union-attr]
            return self.values.global_id(self.values._id_target(name, root_field) or "Merchant")
        if name == "key" and root_field == "flag" or name in ("key", "flagKey"):
            return self.world.flag_keys[0]
        if name in ("after", "before"):
            raise Unfillable(name)
        return "x"

    def variables(self, document: graphql.DocumentNode, operation: OperationDefinitionNode) -> dict[str, Any]:
        usage: dict[str, tuple[str, str | None]] = {}
        for definition in document.definitions:
            for variable, name, root_field in _usages(definition):
                usage.setdefault(variable, (name, root_field))
        out = {}
        for definition in operation.variable_definitions or ():
            t = type_from_ast(self.schema, definition.type)
            if t is None:
                raise Unfillable(definition.variable.name.value)
            if isinstance(t, GraphQLNonNull) and definition.default_value is None:
                name, root_field = usage.get(
                    definition.variable.name.value, (definition.variable.name.value, None)
                )
                out[definition.variable.name.value] = self.value(t, name, root_field)  # type: ignore[arg-type]
        return out


def collected_cases(schema: GraphQLSchema, world: World) -> tuple[list[Case], int]:
    """A case per query operation of every found document and role; and how many operations were skipped."""
    filler = Filler(schema, world)
    cases: list[Case] = []
    skipped = 0
    for where, text in found_documents():
        document = graphql.parse(text)
        operations = [d for d in document.definitions if _is_query(d)]
        for operation in operations:
            name = operation.name.value if operation.name else None  # type: ignore[union-attr]
            try:
                variables = filler.variables(document, operation)  # type: ignore[arg-type]
            except Unfillable:
                skipped += 1
                continue
            for role in ROLES:
                cases.append(Case(role, text, variables or None, name, where))
    return cases, skipped
