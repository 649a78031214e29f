"""How many SQL statements a response cost and how long they took, in `extensions` (when enabled)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from core import sqlstats


class SqlStatistics(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._stats: sqlstats.SqlStats | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        stats = sqlstats.start() if context.settings.sql_stats_enabled else None
        yield
        self._stats = stats

    def get_results(self) -> dict[str, Any]:
        if self._stats is None:
            return {}
        return {"sqlStatements": self._stats.statements, "sqlMs": self._stats.milliseconds}
