"""What a subscription's resolver works with: a context made fresh for every event, and the watch its
events come from (core/change_feed.py).

Strawberry runs a subscription's whole stream on one context, and a RequestContext holds one read
snapshot and one loader registry: the first event's rows would be served to every later event. A
subscription's stream therefore runs on a LiveContext, which passes every attribute through to a
RequestContext of its own and replaces it by a fresh one (new loaders, no snapshot yet) each time the
resolver takes the next event. The previous one is closed first, before the wait, so a subscription
waiting for its next event holds no database connection. A stream is one task taking one event at a
time: no two events share a context, and none is replaced while an event is being executed.

A resolver subscribing, in the order that loses nothing:

    context = live_context(info.context)
    watch = open_watch(context, tags)        # first: a change from now on is heard
    ...admission: read what it shows, through loaders (visibility), refuse what is not visible...
    return stream(context, watch, ...)       # an async generator taking `await context.take(watch)`
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from core.change_feed import UNAVAILABLE, ChangeEvent, FeedUnavailable, Watch
from core.context import RequestContext
from core.errors import ApiError, ErrorCode

OVER_HTTP = "Subscriptions are served over WebSocket on /graphql (graphql-transport-ws or graphql-ws)."


def unavailable() -> ApiError:
    return ApiError(UNAVAILABLE, code=ErrorCode.SERVICE_UNAVAILABLE)


class LiveContext:
    """The context of one subscription stream: a RequestContext per event, behind one object."""

    def __init__(self, make: Callable[[], RequestContext]) -> None:
        self._make = make
        # The subscribing step's context (admission reads), then each event's.
        self.current: RequestContext = make()
        # The version of the newest change taken (None before the first).
        self.version: int | None = None
        # Set by a subscription whose every result is the whole current state (campaignStatusChanged):
        # a subscriber joining a stream already running is sent its latest result first.
        self.keeps_latest = False

    def __getattr__(self, name: str) -> Any:
        # Only names LiveContext lacks come here: everything a RequestContext has.
        return getattr(self.current, name)

    async def take(self, watch: Watch) -> ChangeEvent:
        """Close the previous event's context, wait for the next change, and start a fresh context."""
        await self.current.close()
        try:
            event = await watch.next()
        except FeedUnavailable:
            raise unavailable() from None
        self.current = self._make()
        self.version = event.version
        return event


def live_context(context: Any) -> LiveContext:
    """The resolver's context as a LiveContext; BAD_USER_INPUT for a subscription run any other way."""
    if not isinstance(context, LiveContext):
        raise ApiError(OVER_HTTP, code=ErrorCode.BAD_USER_INPUT)
    return context


def open_watch(context: LiveContext, tags: Iterable[str]) -> Watch:
    """A watch on the process's change feed; SERVICE_UNAVAILABLE while Redis is away."""
    feed = context.services.live
    if feed is None:
        raise unavailable()
    try:
        return feed.watch(tags)  # type: ignore[no-any-return]
    except FeedUnavailable:
        raise unavailable() from None
