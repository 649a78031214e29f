"""Per-request SQL statement count and time, shown in responses' `extensions` (sqlStatements, sqlMs).

The counter lives in a ContextVar set when the request starts; tasks and SQLAlchemy's greenlets
copy the context, and they all share the one mutable counter.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_CURRENT: ContextVar[SqlStats | None] = ContextVar("sql_stats", default=None)
_STARTED = "sqlstats_started"


@dataclass(slots=True)
class SqlStats:
    statements: int = 0
    seconds: float = 0.0

    @property
    def milliseconds(self) -> float:
        return round(self.seconds * 1000, 2)


def start() -> SqlStats:
    """Begin counting for the current request (and every task it spawns)."""
    stats = SqlStats()
    _CURRENT.set(stats)
    return stats


def current() -> SqlStats | None:
    return _CURRENT.get()


def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if _CURRENT.get() is not None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    stats = _CURRENT.get()
    starts = conn.info.get(_STARTED)
    if stats is not None and starts:
        stats.statements += 1
        stats.seconds += time.perf_counter() - starts.pop()


def instrument(engine: Engine) -> None:
    """Count every statement this engine runs on behalf of a counted request."""
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
