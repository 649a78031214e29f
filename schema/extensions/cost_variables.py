"""Which of an operation's variables its cost reads: the others are never coerced for counting.

Counting coerces variables to read page sizes, id lists, ranges and searches. A write's input (a
batch of 100 events) was coerced twice, here and again by execution, for nothing the cost reads. A
variable is read when its type is a scalar or an enum (cheap to coerce), when it sits in the value of
an argument the cost reads at the top of a field (`first`, `range`, ...), or when its input type
holds a search at any depth (a search costs more wherever it is nested).
"""

from __future__ import annotations

from functools import cache

from graphql import (
    DocumentNode,
    GraphQLInputObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    get_named_type,
    is_input_object_type,
    type_from_ast,
    visit,
)
from graphql.language import ArgumentNode, VariableNode


def read_variables(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    *,
    top: frozenset[str],
    nested: frozenset[str],
) -> frozenset[str]:
    """The names of the operation's variables the cost reads: `top` names the arguments read at the
    top of a field's arguments, `nested` those read at any depth of an input."""
    in_read_arguments = _variables_in_arguments(document, top)
    read: set[str] = set()
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)  # type: ignore[arg-type]
        named = get_named_type(declared) if declared is not None else None
        if (
            name in in_read_arguments or not is_input_object_type(named) or _holds(named, nested)  # type: ignore[arg-type]
        ):
            read.add(name)
    return frozenset(read)


class _ArgumentVariables(Visitor):
    """The variables anywhere in the values of the arguments named `names` (fragments included)."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        self.found: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        if node.name.value in self.names:
            visit(node.value, _Variables(self.found))


class _Variables(Visitor):
    def __init__(self, found: set[str]) -> None:
        super().__init__()
        self.found = found

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.found.add(node.name.value)


def _variables_in_arguments(document: DocumentNode, names: frozenset[str]) -> set[str]:
    visitor = _ArgumentVariables(names)
    visit(document, visitor)
    return visitor.found


@cache
def _holds(input_type: GraphQLInputObjectType, names: frozenset[str]) -> bool:
    """Whether a field named in `names` is anywhere inside the input type (schema types live as long
    as the schema: the cache holds one answer per type)."""
    seen: set[str] = set()
    pending = [input_type]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        for field_name, field in current.fields.items():
            if field_name in names:
                return True
            inner = get_named_type(field.type)
            if is_input_object_type(inner):
                pending.append(inner)  # type: ignore[arg-type]
    return False
