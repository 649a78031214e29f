"""Each operation's Prometheus samples (core/metrics.py): its latency by operation name and type,
the codes of its errors, and its SQL statements and time. Listed right after SqlStatistics, whose
counter it reads when the operation ends, and before ErrorCoding, whose exit (first) has coded the
errors by then."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from core import metrics, sqlstats
from core.errors import ErrorCode
from core.metrics_labels import UNKNOWN_TYPE, operation_label, type_label

KNOWN_CODES = frozenset(code.value for code in ErrorCode)
# An error whose code is not ours (none should be) is counted under this one.
UNCODED = ErrorCode.INTERNAL.value


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        ec = self.execution_context
        try:
            kind = type_label(ec.operation_type)
        except Exception:  # noqa: BLE001 - no document (it failed to parse), or no such operation
            kind = UNKNOWN_TYPE
        name = operation_label(ec.operation_name)
        metrics.OPERATION_DURATION.labels(name, kind).observe(elapsed)
        stats = sqlstats.current()
        if stats is not None:
            metrics.SQL_STATEMENTS.labels(name, kind).observe(stats.statements)
            metrics.SQL_DURATION.labels(name, kind).observe(stats.seconds)
        for error in (ec.result.errors if ec.result is not None else None) or ():
            code = (error.extensions or {}).get("code")
            metrics.ERRORS.labels(code if code in KNOWN_CODES else UNCODED).inc()
