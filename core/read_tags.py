"""What an operation read, named as core/changes.py names what a write changed.

A response kept for later (the response cache) is dropped when a write changes anything it was made
of. Rather than trusting every resolver to say what it read, the engine's statement hooks below look
at each SELECT the operation runs:
- a table read by key (its primary key or a foreign key), `WHERE campaigns.merchant_id IN (3, 4)`
  at the top of the statement (alone or ANDed with other conditions), the table appearing nowhere
  else in it, is recorded as the rows of those keys: `campaigns.merchant_id=3`,
  `campaigns.merchant_id=4` and `campaigns.*`. A write to another merchant's campaign leaves such
  a reader alone: its rows cannot have been among these.
- every other table of the statement (in joins, subqueries, EXISTS) is recorded whole: `merchants`.

Recording is per operation: `start()` sets a ContextVar that the operation's tasks (and SQLAlchemy's
greenlets) inherit; without it the hooks do nothing.
"""

from __future__ import annotations

import operator
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Column, Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from core.changes import any_key_tag, is_key_column, key_tag, table_tag

_CURRENT: ContextVar[ReadTags | None] = ContextVar("read_tags", default=None)
# The tables of a compiled statement (and how often each appears), memoised on it: SQLAlchemy reuses
# a compiled form for every statement of the same shape, so the walk below runs once per shape.
_TABLES = "_swipesavvy_tables"
# The key a statement reads by, from `before_execute` (which sees the statement and its values) to
# `before_cursor_execute` (which sees the compiled form) of the same execution on the connection.
_KEYED = "swipesavvy_read_key"


class ReadKey(NamedTuple):
    table: str
    column: str
    keys: tuple[Any, ...]


@dataclass(slots=True)
class ReadTags:
    tables: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)


def start() -> ReadTags:
    """Record what the current operation (and every task it spawns) reads."""
    tags = ReadTags()
    _CURRENT.set(tags)
    return tags


def stop() -> None:
    _CURRENT.set(None)


def tables_of(statement: Any) -> Counter[str]:
    """Every table a statement reads, in joins, subqueries and EXISTS clauses alike, with how often."""
    found: Counter[str] = Counter()
    visitors.traverse(statement, {}, {"table": lambda table: found.update((table.name,))})
    return found


def read_key(statement: Any) -> ReadKey | None:
    """The key column and values a SELECT reads its rows by, if its WHERE says so at the top."""
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    criteria = (
        where.clauses
        if isinstance(where, BooleanClauseList) and where.operator is operators.and_
        else [where]
    )
    for criterion in criteria:
        if not isinstance(criterion, BinaryExpression) or criterion.operator not in (
            operators.in_op,
            operator.eq,
        ):
            continue
        column, values = criterion.left, criterion.right
        # Only a column writes name values of (core/changes.py): a row read by `flags.key = 'x'`
        # would never hear of that flag's update, which names its id.
        if not isinstance(column, Column) or not isinstance(column.table, Table) or not is_key_column(column):
            continue
        if not isinstance(values, BindParameter) or values.value is None:
            continue
        keys = tuple(values.value) if criterion.operator is operators.in_op else (values.value,)
        return ReadKey(column.table.name, column.name, keys)
    return None


def _keyed(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
    if _CURRENT.get() is not None:
        conn.info[_KEYED] = read_key(clauseelement)


def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    keyed: ReadKey | None = conn.info.pop(_KEYED, None)
    reading = _CURRENT.get()
    if reading is None or context is None:
        return
    compiled = getattr(context, "compiled", None)
    if compiled is None or compiled.isinsert or compiled.isupdate or compiled.isdelete:
        return
    tables: Counter[str] | None = getattr(compiled, _TABLES, None)
    if tables is None:
        tables = tables_of(compiled.statement)
        setattr(compiled, _TABLES, tables)
    reading.tables.update(tables)
    for table, seen in tables.items():
        if keyed is not None and keyed.table == table and seen == 1:
            reading.tags.add(any_key_tag(table))
            reading.tags.update(key_tag(table, keyed.column, key) for key in keyed.keys)
        else:
            reading.tags.add(table_tag(table))


def instrument(engine: Engine) -> None:
    """Record the reads of recording operations on this engine."""
    event.listen(engine, "before_execute", _keyed)
    event.listen(engine, "before_cursor_execute", _record)
