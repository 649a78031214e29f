"""Whether this server process is draining: what /readyz, the HTTP responses and the WebSockets read
while core/serving.py takes the process down after a SIGTERM.

One `Drain` per app, opened by the lifespan (core/state.py), so the ASGI server reaches it through
the lifespan state and a test through the app's.
"""

from __future__ import annotations

import asyncio
import time


class Drain:
    """A worker's shutdown as the app sees it: `begin` (still serving, no longer ready), then `close`
    (the listener is closed: WebSockets are asked to go)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.began_at: float | None = None
        # Set in the event loop only (asyncio primitives are not safe to touch from a signal handler).
        self.closing = asyncio.Event()
        # The WebSockets still open, so the server knows when they have all gone.
        self.websockets = 0
        # The grace period is over (or a second signal came): requests still running are cancelled,
        # and answered 503 by transport/surface.py instead of uvicorn's 500.
        self.cut = False

    @property
    def draining(self) -> bool:
        return self.reason is not None

    def begin(self, reason: str) -> None:
        """Stop being ready. Two plain assignments: safe inside a signal handler."""
        if self.reason is None:
            self.began_at = time.monotonic()
            self.reason = reason

    def close(self, reason: str = "shutting down") -> None:
        """The listener is closing: every WebSocket closes with 1001 (transport/websocket_protocols.py)."""
        self.begin(reason)
        self.closing.set()
