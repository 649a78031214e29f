"""Live figures pushed at a pace: a counter that changes many times a second (a campaign's metrics
while events are ingested) is sent as its latest value at most once per interval, never once per
write (README, "Subscriptions")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from core.change_feed import Watch
from core.live import LiveContext


async def paced_changes(context: LiveContext, watch: Watch, interval_s: float) -> AsyncIterator[None]:
    """Once per change heard, but never sooner than `interval_s` after the previous time: the changes
    heard meanwhile are merged into the next one (the watch keeps one pending change, not a queue).

    The caller has just sent its first figures; after each step it reads them again in the fresh
    context `take` made, so what it reads includes every change heard until then.
    """
    last = time.monotonic()
    while True:
        await context.take(watch)
        wait = last + interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last = time.monotonic()
        yield
