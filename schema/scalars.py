"""The boundary for input values: what no argument of the API accepts, refused before a resolver runs.

Two mechanisms, because graphql-core reserves the built-in scalars (String, Int, Float, Boolean, ID:
"Redefinition of reserved type") and so Strawberry's `scalar_overrides` cannot replace them:

- Decimal, DateTime and Date are overridden (same names and descriptions, so the SDL is unchanged)
  with parsers that accept only finite amounts of sensible size and instants in years 1900-2999.
  Strawberry's own accept `NaN`, `Infinity`, `1e400` and year 9999 (whose UTC conversion overflows).
- `InputBoundary`, graphql-core's executor with one step in front: before the variables are coerced it
  refuses, in the raw variables and in the document's literals alike, strings with a NUL character or
  an unpaired surrogate (PostgreSQL stores neither), numbers that are not finite, and integers or
  numerals too long to be anything (a 100,000-digit literal). These checks do not depend on the
  argument's type, so they need no scalar: they hold for String, ID, JSON and every enum alike.

A refusal is a request error coded BAD_USER_INPUT (no `data`), like any other value of the wrong type.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

import dateutil.parser
from graphql import (
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    IntValueNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

from core.errors import ErrorCode

# Amounts: money, revenue, rates. No column holds more than 18 digits before the point, and a value with
# more than 18 after it is noise; past these, PostgreSQL's NUMERIC or Python's quantize would fail late.
MAX_DECIMAL_TEXT = 64
DECIMAL_LIMIT = decimal.Decimal(10) ** 18
MIN_DECIMAL_EXPONENT = -18
# Dates and instants: the platform's business lies well inside; year 1 or 9999 plus a day or a time zone
# is past what Python and the database can represent.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
MAX_TEMPORAL_TEXT = 64
# Numerals longer than this are no value of any argument (64-bit integers have 19 digits). An integer
# literal for an ID passes validation as text; for an Int, graphql-core's own int() runs first, in
# validation (over 4,300 digits Python raises ValueError there: schema/extensions/errors.py codes it).
MAX_NUMERAL_DIGITS = 40
# Variables of in-process callers may hold any Python int; JSON over HTTP holds 64-bit ones.
MAX_INTEGER = 2**63 - 1
# Errors reported for one request at most.
MAX_PROBLEMS = 10


def bad_input(message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.BAD_USER_INPUT.value})


# ---------------------------------------------------------------- the overridden scalars


def _decimal_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_input(
            f'Decimal cannot represent {type(value).__name__} values: send a string like "12.50".'
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_input("Decimal must be a finite number.")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_DECIMAL_TEXT:
        raise bad_input(f"Decimal values are at most {MAX_DECIMAL_TEXT} characters.")
    return text


def parse_decimal(value: Any) -> decimal.Decimal:
    """A finite Decimal of at most 18 digits before the point and 18 after it."""
    text = _decimal_text(value)
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise bad_input(f'Decimal cannot represent "{text}".') from None
    if not number.is_finite():
        raise bad_input("Decimal must be a finite number.")
    if abs(number) >= DECIMAL_LIMIT:
        raise bad_input("Decimal values are below 10^18.")
    if number and int(number.normalize().as_tuple().exponent) < MIN_DECIMAL_EXPONENT:
        raise bad_input(f"Decimal values have at most {-MIN_DECIMAL_EXPONENT} digits after the point.")
    return number


def parse_decimal_literal(node: ValueNode, _variables: Any = None) -> decimal.Decimal:
    # The raw text of a numeric literal, never int() or float() of it: "1e400" is a finite Decimal
    # to be bounded, and a 100,000-digit integer must not reach int().
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return parse_decimal(node.value)
    raise bad_input("Decimal values are strings or numbers.", node)


def _in_years(day: dt.date, what: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise bad_input(f"{what} must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")


def _temporal_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise bad_input(f"{what} values are ISO 8601 strings.")
    if len(value) > MAX_TEMPORAL_TEXT:
        raise bad_input(f"{what} values are at most {MAX_TEMPORAL_TEXT} characters.")
    return value


def parse_datetime(value: Any) -> dt.datetime:
    """An ISO 8601 instant in years 1900-2999 (UTC, for one with a time zone)."""
    text = _temporal_text(value, "DateTime")
    try:
        parsed = _isoparse(text)
        in_utc = parsed if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise bad_input(f'DateTime cannot represent "{text}".') from None
    _in_years(in_utc.date(), "DateTime")
    return parsed


def _isoparse(text: str) -> dt.datetime:
    # The standard library's parser is C and about forty times faster (a batch of events holds a
    # hundred instants); what it refuses (24:00, some reduced forms) goes to dateutil's, as before.
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return dateutil.parser.isoparse(text)
    offset = parsed.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise ValueError("an offset with seconds is not ISO 8601")  # and dateutil refuses it
    return parsed


def parse_date(value: Any) -> dt.date:
    """An ISO 8601 calendar date in years 1900-2999."""
    text = _temporal_text(value, "Date")
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        raise bad_input(f'Date cannot represent "{text}".') from None
    _in_years(parsed, "Date")
    return parsed


def _override(definition: ScalarDefinition, **parsers: Any) -> ScalarDefinition:
    """Strawberry's scalar with our parsers: name, description and serialisation stay the same."""
    return dataclasses.replace(definition, **{"parse_literal": None, **parsers})


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    decimal.Decimal: _override(
        DecimalDefinition, parse_value=parse_decimal, parse_literal=parse_decimal_literal
    ),
    dt.datetime: _override(DateTimeDefinition, parse_value=parse_datetime),
    dt.date: _override(DateDefinition, parse_value=parse_date),
}


# ---------------------------------------------------------------- every value, whatever its type

# Only a document whose text has one of these can hold a literal the boundary refuses: an escape (the
# lexer allows no raw NUL), a long numeral, or a large exponent. The rest skip the walk.
_MAYBE_HOSTILE = re.compile(r"\\u|\d{41}|[eE][+-]?\d{3}")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Strings may not contain the NUL character."
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "Strings must be valid Unicode (no unpaired surrogates)."
    return None


def _number_problem(value: int | float) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "Numbers must be finite."
    if isinstance(value, int) and not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        return "Integers are at most 64-bit."
    return None


def _variable_problems(variables: dict[str, Any]) -> Iterator[GraphQLError]:
    # Iterative, as JSON may nest deeper than Python's recursion limit.
    stack: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while stack:
        where, value = stack.pop()
        problem = None
        if isinstance(value, str):
            problem = _text_problem(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            problem = _number_problem(value)
        elif isinstance(value, dict):
            stack.extend((f"{where}.{key}", item) for key, item in value.items())
            problem = next((p for key in value if isinstance(key, str) and (p := _text_problem(key))), None)
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        if problem:
            yield bad_input(f"Variable {where}: {problem}")


def _literal_problem(node: ValueNode) -> str | None:
    if isinstance(node, StringValueNode):
        return _text_problem(node.value)
    if isinstance(node, IntValueNode | FloatValueNode):
        if isinstance(node, IntValueNode) and len(node.value.lstrip("-")) > MAX_NUMERAL_DIGITS:
            return f"Integer literals have at most {MAX_NUMERAL_DIGITS} digits."
        if isinstance(node, FloatValueNode) and not math.isfinite(float(node.value)):
            return "Numbers must be finite."
    return None


def _literals(document: DocumentNode) -> Iterator[ValueNode]:
    """Every constant value in the document: arguments, input fields, list items, variable defaults."""
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
            yield node
        elif isinstance(node, ObjectValueNode):
            stack.extend(field.value for field in node.fields)
        elif isinstance(node, ListValueNode):
            stack.extend(node.values)
        elif isinstance(node, Node):
            for key in node.keys:
                child = getattr(node, key, None)
                if isinstance(child, Node):
                    stack.append(child)
                elif isinstance(child, tuple | list):
                    stack.extend(c for c in child if isinstance(c, Node))


def _literal_problems(document: DocumentNode) -> Iterator[GraphQLError]:
    source = document.loc.source.body if document.loc is not None else None
    if source is not None and not _MAYBE_HOSTILE.search(source):
        return
    for node in _literals(document):
        problem = _literal_problem(node)
        if problem:
            yield bad_input(problem, node)


def input_problems(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    """What the boundary refuses in this request's variables and literals (empty: nothing); the first
    few, as a list of a million NUL strings needs no million errors."""
    found = itertools.chain(_variable_problems(variables or {}), _literal_problems(document))
    return list(itertools.islice(found, MAX_PROBLEMS))


class InputBoundary(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, refusing hostile input values before it coerces the variables."""

    @classmethod
    def build(  # type: ignore[override]
        cls,
        schema: Any,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        problems = input_problems(document, raw_variable_values)
        if problems:
            return problems
        return super().build(
            schema, document, root_value, context_value, raw_variable_values, *args, **kwargs
        )
