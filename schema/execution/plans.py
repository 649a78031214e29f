"""Plans of a query operation: what each selection set resolves, decided once per document.

A plan is built with graphql-core's own field collection (`collect_fields`, `collect_subfields`:
fragments, aliases, `@skip`/`@include`), so it holds exactly the fields graphql-core would execute for
the same skip/include values, in the same order. Per field it keeps what graphql-core looks up again
for every object: the field definition, the resolver (or, for a field that only reads an attribute, the
attribute), the shape of the return type and a serializer for leaves. Argument values are not part of
the plan: they are coerced per request, once per field and level (they depend only on the variables).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Node,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_subfields
from graphql.pyutils import Undefined, inspect

from schema.execution.leaves import compile_fill

STRAWBERRY_FIELD = "strawberry-definition"
GRAPHQL_MAX_INT = 2**31 - 1
GRAPHQL_MIN_INT = -(2**31)


def _leaf_serializer(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """The leaf's own `coerce_output_value`, skipped for values it would return unchanged."""
    coerce = leaf.coerce_output_value

    def checked(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            msg = (
                f"Expected `{inspect(leaf)}.coerce_output_value("
                f"{inspect(value)})` to return non-nullable value, returned: {inspect(coerced)}"
            )
            raise TypeError(msg)
        return coerced

    if leaf is GraphQLString or leaf is GraphQLID:
        return lambda value: value if type(value) is str else checked(value)
    if leaf is GraphQLBoolean:
        return lambda value: value if type(value) is bool else checked(value)
    if leaf is GraphQLInt:
        return lambda value: (
            value if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT else checked(value)
        )
    if leaf is GraphQLFloat:
        return lambda value: value if type(value) is float and math.isfinite(value) else checked(value)
    return checked


@dataclass(slots=True)
class Shape:
    """A return type without its non-null wrapper: a leaf, an object, an abstract type or a list."""

    kind: str  # "leaf" | "object" | "abstract" | "list"
    graphql_type: GraphQLOutputType
    serialize: Callable[[Any], Any] | None = None
    # A list's items: their shape and whether they may be null.
    item: Shape | None = None
    item_nullable: bool = True


def shape_of(output: GraphQLOutputType) -> tuple[Shape, bool]:
    """The shape of a field's type and whether the field may be null."""
    nullable = not is_non_null_type(output)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if is_list_type(inner):
        assert isinstance(inner, GraphQLList)
        item, item_nullable = shape_of(inner.of_type)
        return Shape("list", inner, item=item, item_nullable=item_nullable), nullable
    if is_leaf_type(inner):
        return Shape("leaf", inner, serialize=_leaf_serializer(inner)), nullable  # type: ignore[arg-type]
    if is_abstract_type(inner):
        return Shape("abstract", inner), nullable
    assert is_object_type(inner)
    return Shape("object", inner), nullable


@dataclass(slots=True, eq=False)
class FieldPlan:
    """One response key of a selection set."""

    response_name: str
    parent_type: GraphQLObjectType
    field_name: str
    field_def: GraphQLField
    details: list[FieldDetails]
    shape: Shape
    nullable: bool
    # Set for a field that only reads an attribute of its parent (no resolver, no permission): the
    # executor reads it in a loop, without building an `info`.
    attribute: Callable[[Any], Any] | None
    # Set for `__typename`: the parent type's name.
    typename: str | None = None
    # The attribute `attribute` reads (the Strawberry field's python name).
    python_name: str | None = None
    # The selection set under this field, per object type it may return (built on first use).
    children: dict[str, SelectionPlan] = field(default_factory=dict)

    @property
    def nodes(self) -> list[Any]:
        return [detail.node for detail in self.details]

    @property
    def has_arguments(self) -> bool:
        return bool(self.field_def.args or self.details[0].node.arguments)


@dataclass(slots=True, eq=False)
class SelectionPlan:
    """The fields graphql-core would execute for an object of `object_type` here, in response order."""

    object_type: GraphQLObjectType
    fields: list[FieldPlan]
    # Set when every field reads an attribute into a leaf (or is `__typename`): such an object is
    # completed where it is met, by this function compiled for the plan (leaves.py), instead of
    # waiting for the next level.
    fill: Callable[[Any, dict[str, Any]], bool] | None = None


def field_plan(
    schema: Any, parent_type: GraphQLObjectType, response_name: str, details: list[FieldDetails]
) -> FieldPlan | None:
    name = details[0].node.name.value
    field_def = schema.get_field(parent_type, name)
    if field_def is None:
        return None
    shape, nullable = shape_of(field_def.type)
    attribute = None
    typename = parent_type.name if name == "__typename" else None
    strawberry_field = (field_def.extensions or {}).get(STRAWBERRY_FIELD)
    resolver = field_def.resolve
    # Strawberry's own resolver for a field without resolver, permission or extension only reads the
    # attribute (`_get_basic_result`); any other field keeps its resolver.
    if (
        strawberry_field is not None
        and strawberry_field.is_basic_field
        and getattr(resolver, "__name__", None) == "_get_basic_result"
    ):
        attribute = attrgetter(strawberry_field.python_name)
    python_name = strawberry_field.python_name if attribute is not None else None
    return FieldPlan(
        response_name,
        parent_type,
        name,
        field_def,
        details,
        shape,
        nullable,
        attribute,
        typename,
        python_name,
    )


def selection_plan(
    schema: Any, object_type: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]
) -> SelectionPlan:
    found = [field_plan(schema, object_type, name, details) for name, details in grouped.items()]
    plans = [p for p in found if p is not None]
    leaf_only = all(
        p.typename is not None or (p.attribute is not None and p.shape.kind == "leaf") for p in plans
    )
    return SelectionPlan(object_type, plans, compile_fill(plans) if leaf_only else None)


def child_plan(executor: Any, parent: FieldPlan, object_type: GraphQLObjectType) -> SelectionPlan:
    """The selection set under `parent` for objects of `object_type`, collected on first use."""
    plan = parent.children.get(object_type.name)
    if plan is None:
        grouped, _defers, _forbidden = collect_subfields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            executor.operation,
            object_type,
            parent.details,
            executor.hide_suggestions,
        )
        plan = parent.children[object_type.name] = selection_plan(executor.schema, object_type, grouped)
    return plan


def skip_include_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables `@skip`/`@include` read anywhere in the document: a plan holds for one set of their
    values."""
    names: set[str] = set()
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, DirectiveNode) and node.name.value in ("skip", "include"):
            names.update(a.value.name.value for a in node.arguments if isinstance(a.value, VariableNode))
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(c for c in child if isinstance(c, Node))
    return tuple(sorted(names))
