"""Objects made only of attribute leaves (a day of metrics, a variant, a category), completed by a
function compiled once per plan: straight-line code reading each attribute and serialising it, with
graphql-core's output coercion inlined for the built-in scalars where it would return the value as is.

The generated source names only what the plan holds: attribute names are Strawberry python names
(identifiers) and response keys are GraphQL names from the lexer (`[_A-Za-z][_0-9A-Za-z]*`), both
written as Python string literals with `repr`; serialisers are passed in as bound names, never as
text. Any failure — an exception, a null where the type forbids one — returns False with `result`
emptied, and the general path completes the object again to report the error exactly.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLString

if TYPE_CHECKING:
    from schema.execution.plans import FieldPlan

GRAPHQL_MAX_INT = 2**31 - 1
GRAPHQL_MIN_INT = -(2**31)


def _serialised(leaf: Any, value: str, serializer: str) -> str:
    """An expression giving graphql-core's output coercion of `value` for this leaf type."""
    if leaf is GraphQLString or leaf is GraphQLID:
        return f"{value} if type({value}) is str else {serializer}({value})"
    if leaf is GraphQLBoolean:
        return f"{value} if type({value}) is bool else {serializer}({value})"
    if leaf is GraphQLInt:
        bounds = f"{GRAPHQL_MIN_INT} <= {value} <= {GRAPHQL_MAX_INT}"
        return f"{value} if type({value}) is int and {bounds} else {serializer}({value})"
    return f"{serializer}({value})"


def compile_fill(fields: list[FieldPlan]) -> Callable[[Any, dict[str, Any]], bool]:
    """`fill(source, result)`: the object's response dict, in field order; False when the general path
    must complete it instead."""
    # `pass`: every field of the selection may be skipped, leaving an empty object.
    lines = ["def fill(source, result):", "    try:", "        pass"]
    names: dict[str, Any] = {}
    for index, fp in enumerate(fields):
        key = repr(fp.response_name)
        if fp.typename is not None:
            lines.append(f"        result[{key}] = {fp.typename!r}")
            continue
        assert fp.python_name is not None
        names[f"s{index}"] = fp.shape.serialize
        value = f"v{index}"
        name = fp.python_name
        read = (
            f"source.{name}"
            if name.isidentifier() and not keyword.iskeyword(name)
            else f"getattr(source, {name!r})"
        )
        lines.append(f"        {value} = {read}")
        lines.append(f"        if {value} is None:")
        lines.append(f"            result[{key}] = None" if fp.nullable else "            raise _Null")
        lines.append("        else:")
        lines.append(f"            result[{key}] = {_serialised(fp.shape.graphql_type, value, f's{index}')}")
    lines += ["    except Exception:", "        result.clear()", "        return False", "    return True"]
    namespace: dict[str, Any] = {"_Null": _Null, **names}
    exec(compile("\n".join(lines), "<leaf plan>", "exec"), namespace)  # noqa: S102 - source built above
    return namespace["fill"]  # type: ignore[no-any-return]


class _Null(Exception):
    """A non-null field read null: the general path reports it."""
