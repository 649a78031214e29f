"""What an operation read, named as core/changes.py names what a write changed.

A response kept for later (the response cache) is dropped when a write changes anything it was made
of. Rather than trusting every resolver to say what it read, the engine's statement hook below looks
at each SELECT the operation runs and records the tables it reads: `campaigns` for rows chosen by
any filter. A loader reading rows by key says so on its statement
(`statement.execution_options(read_key=ReadKey("campaigns", "merchant_id", keys))`), and its table
is recorded as the rows of those keys only (`campaigns.merchant_id=3`, and `campaigns.*`), so a
write elsewhere in the table leaves the entry alone.

Recording is per operation: `start()` sets a ContextVar that the operation's tasks (and SQLAlchemy's
greenlets) inherit; without it the hook does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql import visitors

from core.changes import any_key_tag, key_tag, table_tag

_CURRENT: ContextVar[ReadTags | None] = ContextVar("read_tags", default=None)
# The tables of a compiled statement, memoised on it: SQLAlchemy reuses a compiled form for every
# statement of the same shape, so the walk below runs once per shape.
_TABLES = "_swipesavvy_tables"


class ReadKey(NamedTuple):
    table: str
    column: str
    keys: Any


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


def tables_of(statement: Any) -> frozenset[str]:
    """Every table a statement reads, in joins, subqueries and EXISTS clauses alike."""
    found: set[str] = set()
    visitors.traverse(statement, {}, {"table": lambda table: found.add(table.name)})
    return frozenset(found)


def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    reading = _CURRENT.get()
    if reading is None or context is None:
        return
    compiled = getattr(context, "compiled", None)
    if compiled is None or compiled.isinsert or compiled.isupdate or compiled.isdelete:
        return
    tables = getattr(compiled, _TABLES, None)
    if tables is None:
        tables = tables_of(compiled.statement)
        setattr(compiled, _TABLES, tables)
    reading.tables.update(tables)
    keyed: ReadKey | None = context.execution_options.get("read_key")
    for table in tables:
        if keyed is not None and keyed.table == table:
            reading.tags.add(any_key_tag(table))
            reading.tags.update(key_tag(table, keyed.column, key) for key in keyed.keys)
        else:
            reading.tags.add(table_tag(table))


def instrument(engine: Engine) -> None:
    """Record the reads of recording operations on this engine."""
    event.listen(engine, "before_cursor_execute", _record)
