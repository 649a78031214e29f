"""A mutable form of a query document, typed by the schema as it is read, and its printing.

graphql-core's AST nodes are frozen; the corpus's argument fixing and the mutator rewrite documents
freely, so they work on this form instead: every selection set knows the type it selects on, every
field the named type it returns. Values are plain Python (str, int, float, bool, None, list, dict)
plus `Enum` and `Var`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import GraphQLSchema, get_named_type


@dataclass(frozen=True)
class Enum:
    name: str


@dataclass(frozen=True)
class Var:
    name: str


@dataclass
class Field:
    name: str
    type: str  # the named type it returns
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] = field(default_factory=list)
    directives: list[str] = field(default_factory=list)

    @property
    def response_name(self) -> str:
        return self.alias or self.name


@dataclass
class Inline:
    on: str | None
    scope: str  # the type its selections are selected on
    selections: list[Selection] = field(default_factory=list)
    directives: list[str] = field(default_factory=list)


@dataclass
class Spread:
    name: str
    directives: list[str] = field(default_factory=list)


Selection = Field | Inline | Spread


@dataclass
class Fragment:
    name: str
    on: str
    selections: list[Selection]


@dataclass
class VariableDef:
    type: str
    default: Any = None
    has_default: bool = False


@dataclass
class Operation:
    selections: list[Selection]
    name: str | None = None
    variables: dict[str, VariableDef] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    operations: list[Operation]
    fragments: list[Fragment] = field(default_factory=list)
    operation_name: str | None = None  # the operation to run, when there are several

    def clone(self) -> Document:
        return copy.deepcopy(self)

    @property
    def chosen(self) -> Operation:
        if self.operation_name is None:
            return self.operations[0]
        return next(op for op in self.operations if op.name == self.operation_name)


# ---------------------------------------------------------------- from graphql-core's AST


def literal(node: graphql.ValueNode) -> Any:
    if isinstance(node, graphql.VariableNode):
        return Var(node.name.value)
    if isinstance(node, graphql.IntValueNode):
        return int(node.value)
    if isinstance(node, graphql.FloatValueNode):
        return float(node.value)
    if isinstance(node, graphql.StringValueNode | graphql.BooleanValueNode):
        return node.value
    if isinstance(node, graphql.NullValueNode):
        return None
    if isinstance(node, graphql.EnumValueNode):
        return Enum(node.value)
    if isinstance(node, graphql.ListValueNode):
        return [literal(v) for v in node.values]
    if isinstance(node, graphql.ObjectValueNode):
        return {f.name.value: literal(f.value) for f in node.fields}
    raise TypeError(f"unexpected value node {node.kind}")


def _selections(schema: GraphQLSchema, scope: str, nodes: Any) -> list[Selection]:
    out: list[Selection] = []
    parent = schema.get_type(scope)
    for node in nodes or ():
        if isinstance(node, graphql.FieldNode):
            name = node.name.value
            returns = (
                "String" if name == "__typename" else get_named_type(parent.fields[name].type).name  # type: ignore[union-attr]
            )
            out.append(
                Field(
                    name=name,
                    type=returns,
                    alias=node.alias.value if node.alias else None,
                    args={a.name.value: literal(a.value) for a in node.arguments or ()},
                    selections=_selections(
                        schema, returns, node.selection_set and node.selection_set.selections
                    ),
                )
            )
        elif isinstance(node, graphql.InlineFragmentNode):
            on = node.type_condition.name.value if node.type_condition else None
            inner = on or scope
            out.append(
                Inline(
                    on=on, scope=inner, selections=_selections(schema, inner, node.selection_set.selections)
                )
            )
        else:
            raise TypeError(f"unexpected selection {node.kind}")
    return out


def from_text(schema: GraphQLSchema, text: str, root: str | None = None) -> Document:
    """A document of one query operation made of fields and inline fragments (what Hypothesis makes),
    its selections on `root` (by default the query type)."""
    parsed = graphql.parse(text, no_location=True)
    (operation,) = parsed.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    if root is None:
        assert schema.query_type is not None
        root = schema.query_type.name
    return Document([Operation(_selections(schema, root, operation.selection_set.selections))])


# ---------------------------------------------------------------- printing


def value_text(value: Any) -> str:
    if isinstance(value, Var):
        return f"${value.name}"
    if isinstance(value, Enum):
        return value.name
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot print {value!r}")


def json_value(value: Any) -> Any:
    """The value as a client sends it in `variables` (enums by name)."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    assert not isinstance(value, Var), "a variable inside a variable's value"
    return value


def _directives(directives: list[str]) -> str:
    return "".join(f" {d}" for d in directives)


def selections_text(selections: list[Selection]) -> str:
    parts = []
    for s in selections:
        if isinstance(s, Field):
            head = f"{s.alias}: {s.name}" if s.alias else s.name
            args = "(" + ", ".join(f"{k}: {value_text(v)}" for k, v in s.args.items()) + ")" if s.args else ""
            body = f" {{ {selections_text(s.selections)} }}" if s.selections else ""
            parts.append(f"{head}{args}{_directives(s.directives)}{body}")
        elif isinstance(s, Inline):
            on = f" on {s.on}" if s.on else ""
            parts.append(f"...{on}{_directives(s.directives)} {{ {selections_text(s.selections)} }}")
        else:
            parts.append(f"...{s.name}{_directives(s.directives)}")
    return " ".join(parts)


def operation_text(op: Operation) -> str:
    definitions = ""
    if op.variables:
        defs = []
        for name, d in op.variables.items():
            default = f" = {value_text(d.default)}" if d.has_default else ""
            defs.append(f"${name}: {d.type}{default}")
        definitions = "(" + ", ".join(defs) + ")"
    head = "query" + (f" {op.name}" if op.name else "") + definitions
    body = f"{{ {selections_text(op.selections)} }}"
    return body if head == "query" else f"{head} {body}"


def to_text(doc: Document) -> str:
    parts = [operation_text(op) for op in doc.operations]
    parts += [f"fragment {f.name} on {f.on} {{ {selections_text(f.selections)} }}" for f in doc.fragments]
    return "\n".join(parts)


def walk(selections: list[Selection]) -> list[Selection]:
    """Every selection, depth first (fragment spreads are not followed)."""
    out: list[Selection] = []
    for s in selections:
        out.append(s)
        if isinstance(s, Field | Inline):
            out.extend(walk(s.selections))
    return out


def depth(selections: list[Selection], fragments: dict[str, Fragment] | None = None) -> int:
    """Levels of fields selected (inline fragments and spreads add none)."""
    best = 0
    for s in selections:
        if isinstance(s, Field):
            best = max(best, 1 + depth(s.selections, fragments))
        elif isinstance(s, Inline):
            best = max(best, depth(s.selections, fragments))
        elif fragments is not None:
            best = max(best, depth(fragments[s.name].selections, fragments))
    return best
