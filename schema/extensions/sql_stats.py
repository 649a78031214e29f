"""How many SQL statements a response cost and how long they took, and which executor answered
(schema/execution/), in `extensions` (when enabled: development)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from core import sqlstats
from schema.execution import ANSWERED_BY


class SqlStatistics(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._stats: sqlstats.SqlStats | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        # Always counted: the metrics (schema/extensions/metrics.py) read it; shown only when enabled.
        stats = sqlstats.start()
        ANSWERED_BY.set(None)
        yield
        self._stats = stats if context.settings.sql_stats_enabled else None

    def get_results(self) -> dict[str, Any]:
        if self._stats is None:
            return {}
        results: dict[str, Any] = {"sqlStatements": self._stats.statements, "sqlMs": self._stats.milliseconds}
        executor = ANSWERED_BY.get()
        if executor is not None:
            results["executor"] = executor
        return results
