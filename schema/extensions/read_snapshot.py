"""Ends the operation's read snapshot (core/context.py) when the operation ends, however it ends.

The close is an on_operation exit rather than a `finally` in transport/http.py because every
`schema.execute` goes through it: HTTP, the tests' in-process calls, and any later transport (a
WebSocket subscription) that builds a RequestContext. Listed first in schema/__init__.py, so its exit
runs last: no other extension reads after the snapshot is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension


class ReadSnapshot(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            # Schema tests may execute without a RequestContext (no context, nothing opened).
            close = getattr(self.execution_context.context, "close", None)
            if close is not None:
                await close()
