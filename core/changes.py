"""What a write changed, told to whoever keeps a copy of it, once its transaction has committed.

The write sessions (`core/database.create_sessionmaker(..., tracked=True)`) record as they flush
which tables and rows they changed, from SQLAlchemy's own events: the unit of work for entities, and
every INSERT, UPDATE or DELETE statement run through the session. A write cannot forget to say what
it changed, because it says nothing itself. After the transaction commits, `RequestContext.
write_session` hands the changes to the dispatcher, which calls every subscriber (the response cache
drops its entries, the flag snapshot reloads; later, subscriptions and jobs); a rollback discards
them, so a subscriber never hears of a write that did not happen.

Tags name what a reader may have read (core/read_tags.py records the same names):
- `campaigns`: some rows of the table, chosen by any filter (a list, a search, a join);
- `campaigns.id=7`, `campaigns.merchant_id=3`: the rows with that value in a key column;
- `campaigns.*`: any row read by key. A statement whose rows are unknown (an UPDATE with a WHERE)
  changes this tag, which reaches every keyed reader of the table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

log = logging.getLogger(__name__)

_PENDING = "swipesavvy_changes"


def table_tag(table: str) -> str:
    return table


def key_tag(table: str, column: str, value: Any) -> str:
    return f"{table}.{column}={value}"


def any_key_tag(table: str) -> str:
    return f"{table}.*"


@dataclass(frozen=True, slots=True)
class Changes:
    """What one committed transaction wrote: the tables, and the tags of its rows."""

    tables: frozenset[str]
    tags: frozenset[str]


@dataclass(slots=True)
class _Pending:
    tables: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def table(self, name: str) -> None:
        self.tables.add(name)
        self.tags.add(table_tag(name))


# Rows PostgreSQL's own triggers write when a table is written (migration 0002): a reward entry
# moves its user's balance, `users.reward_points`. Per table: (table written, its key column, the
# column of the triggering row that holds that key).
TRIGGERED = {"rewards_ledger": (("users", "id", "user_id"),)}

Subscriber = Callable[[Changes], Awaitable[None]]


class ChangeDispatcher:
    """Calls each subscriber with a committed transaction's changes, in the order they subscribed.

    A subscriber that fails is logged and does not stop the others: the write has committed, and the
    client is told so whatever a cache did with the news.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def dispatch(self, changes: Changes) -> None:
        for subscriber in self._subscribers:
            try:
                await subscriber(changes)
            except Exception:
                log.exception("after-commit subscriber %r failed", subscriber)


class TrackedSession(Session):
    """The write sessions' class: its events (below) record what each flush and statement changed."""


def committed_changes(session: Any) -> Changes | None:
    """The changes a committed session recorded (and forgets them); None when it wrote nothing."""
    sync = getattr(session, "sync_session", session)
    pending: _Pending | None = sync.info.pop(_PENDING, None)
    if pending is None or not pending.tables:
        return None
    return Changes(tables=frozenset(pending.tables), tags=frozenset(pending.tags))


def wrote_keys(session: Any, table: str, column: str, values: Iterable[Any]) -> None:
    """Name the rows a statement wrote that the events below cannot see: a `text()` statement, or an
    INSERT ... SELECT whose rows come from the database. Live views watch such keys (the metrics of
    one campaign, the assignments of one experiment) instead of every write to the table; the
    table itself is told as changed too, so a cache reading it by any filter is never kept stale."""
    pending = _pending(getattr(session, "sync_session", session))
    pending.table(table)
    pending.tags.add(any_key_tag(table))
    pending.tags.update(key_tag(table, column, value) for value in values)


def _pending(session: Session) -> _Pending:
    found: _Pending | None = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


@event.listens_for(TrackedSession, "after_flush")
def _record_flush(session: Session, flush_context: UOWTransaction) -> None:
    # After the flush, new/dirty/deleted and each attribute's history still show what it changed.
    pending = _pending(session)
    for instance in session.deleted:
        # Rows PostgreSQL deletes or updates itself (ON DELETE CASCADE / SET NULL) are not seen by
        # SQLAlchemy: every such child table is told its rows are unknown.
        for child in _cascading_children(inspect(instance).mapper.local_table):
            pending.table(child)
            pending.tags.add(any_key_tag(child))
    for instance in (*session.new, *session.dirty, *session.deleted):
        state = inspect(instance)
        table = state.mapper.local_table
        name = table.name
        pending.table(name)
        for target, target_column, source in TRIGGERED.get(name, ()):
            pending.table(target)
            pending.tags.add(key_tag(target, target_column, getattr(instance, source, None)))
        for column in key_columns(table):
            prop = state.mapper._columntoproperty.get(column)
            if prop is None:
                continue
            history = state.attrs[prop.key].history
            for value in _values(history):
                if value is not None:
                    pending.tags.add(key_tag(name, column.name, value))


@event.listens_for(TrackedSession, "do_orm_execute")
def _record_statement(orm_execute_state: ORMExecuteState) -> None:
    state = orm_execute_state
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None:
        return
    pending = _pending(state.session)
    # Which rows are unknown: every keyed reader of the table (and of what its triggers write) is told.
    for table in (name, *(target for target, _, _ in TRIGGERED.get(name, ()))):
        pending.table(table)
        pending.tags.add(any_key_tag(table))


@event.listens_for(TrackedSession, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    # The outermost transaction rolled back: nothing it recorded happened. A savepoint's rollback is
    # kept: telling a subscriber of too much is harmless, of too little is a stale copy.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def is_key_column(column: Any) -> bool:
    """Whether writes name their rows' values of this column: the primary key and foreign keys. A
    reader recording rows by key (core/read_tags.py) may only use these."""
    return bool(column.primary_key or column.foreign_keys)


def key_columns(table: Any) -> Iterable[Any]:
    return (column for column in table.columns if is_key_column(column))


def _cascading_children(table: Any) -> set[str]:
    children = set()
    for other in table.metadata.tables.values():
        for fk in other.foreign_keys:
            if fk.column.table is table and (fk.ondelete or "").upper() in (
                "CASCADE",
                "SET NULL",
                "SET DEFAULT",
            ):
                children.add(other.name)
    return children


def _values(history: Any) -> Iterable[Any]:
    """Old and new values: a row moved from merchant 3 to 4 leaves one list and joins another."""
    yield from history.added or ()
    yield from history.unchanged or ()
    yield from history.deleted or ()
