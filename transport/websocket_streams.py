"""Subscription streams shared by the subscribers of one scope, in one worker.

Subscribers sending the same document, operation and variables whose viewers have the same scope
(role, merchant, and the person where rows are their own: schema/caching/keys.py, the response
cache's rule) would all be sent the same data. They share one stream: one `schema.subscribe`, run in
a task of its own on a LiveContext (core/live.py), whose every result is serialised once and put in
each subscriber's mailbox. The selection is executed once per event per scope, however many
subscribers the scope has.

The first subscriber starts the stream and goes through every check of a request (document limits,
cost, rate limit, the field's roles, row visibility); later ones join a stream that passed them for
their scope, and pay the subscription's cost from their own budget. Each delivered event is charged
to every subscriber (transport/websocket_costs.py); one whose budget cannot pay is sent
RATE_LIMITED instead of that event. A subscriber more than SUBSCRIPTION_QUEUED_EVENTS behind is
ended. The last subscriber leaving stops the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError
from strawberry.types.execution import PreExecutionError

from core.errors import ApiError, ErrorCode
from core.live import LiveContext
from core.ratelimit import TokenBucket
from schema.extensions.errors import INTERNAL_MESSAGE, Stage, coded
from transport.websocket_costs import draw_each, rate_limited

log = logging.getLogger("swipesavvy.ws")

FELL_BEHIND = "This subscription fell too far behind its events and was ended: subscribe again."
# A stream's start: its LiveContext, and the awaitable `schema.subscribe` gives.
Start = Callable[[], tuple[LiveContext, Awaitable[Any]]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one operation: a `payload` for `next` (graphql-transport-ws) or `data`
    (graphql-ws), or the errors refusing an operation before it started (`error`)."""

    payload: Any = None
    refusal: list[dict[str, Any]] | None = None


def payload_of(result: Any, request_id: str | None, *, version: int | None = None) -> orjson.Fragment:
    """A result as the JSON of a `next` payload, its errors coded (once, however many receive it)."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [coded_error(error, request_id).formatted for error in result.errors]
    extensions = dict(result.extensions or {})
    if version is not None:
        extensions["version"] = version
    if extensions:
        body["extensions"] = extensions
    return orjson.Fragment(orjson.dumps(body, default=str))


def coded_error(error: GraphQLError, request_id: str | None, stage: Stage = Stage.EXECUTION) -> GraphQLError:
    """Errors the schema's extensions did not code (a stream's results are yielded before its
    ErrorCoding exit runs) get their code and the request id here."""
    if "code" in (error.extensions or {}) and (request_id is None or "requestId" in error.extensions):
        return error
    return coded(error, request_id, stage=stage)


def refusal_of(errors: list[GraphQLError], request_id: str | None) -> list[dict[str, Any]]:
    """The errors refusing an operation before it ran: without a path, the document's validation's."""
    return [
        coded_error(error, request_id, Stage.EXECUTION if error.path else Stage.VALIDATION).formatted
        for error in errors
    ]


class Mailbox:
    """One subscriber's deliveries not sent yet, at most `limit` of them.

    Every open subscription holds one for as long as it lasts, mostly empty: a list and a future made
    only while waiting, where a deque and an asyncio.Event (with a deque of its own) took 1.2 KiB.
    """

    __slots__ = ("limit", "_items", "_waiter", "_ended")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: list[Delivery] = []
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False

    def put(self, delivery: Delivery) -> None:
        if self._ended:
            return
        if len(self._items) >= self.limit:
            self._items.clear()
            error = ApiError(FELL_BEHIND, code=ErrorCode.SERVICE_UNAVAILABLE)
            self._items.append(Delivery(payload={"data": None, "errors": [error.formatted]}))
            self.end()
            return
        self._items.append(delivery)
        self._wake()

    def end(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Delivery | None:
        """The next delivery, waiting for it; None once the stream has ended and all were taken."""
        while not self._items:
            if self._ended:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)  # at most `limit` long, usually one


@dataclass(eq=False)
class Subscriber:
    identity: str
    request_id: str
    mailbox: Mailbox


@dataclass(eq=False)
class SharedStream:
    key: Hashable
    owner: SharedStreams
    bucket: TokenBucket
    event_cost: int
    subscribers: dict[Subscriber, None] = field(default_factory=dict)
    # The latest event's payload, for subscribers joining a stream of whole states.
    latest: Any = None
    keeps_latest: bool = False
    ended: bool = False
    task: asyncio.Task[None] | None = None

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber] = None
        if self.keeps_latest and self.latest is not None:
            subscriber.mailbox.put(Delivery(payload=self.latest))

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.pop(subscriber, None)
        if not self.subscribers and not self.ended and self.task is not None:
            self.task.cancel()

    async def run(self, start: Start) -> None:
        context, subscribing = start()
        try:
            results = await subscribing
            async with contextlib.aclosing(results):
                first = True
                async for result in results:
                    if first and isinstance(result, PreExecutionError):
                        self._broadcast(Delivery(refusal=refusal_of(result.errors or [], context.request_id)))
                        return
                    first = False
                    self.keeps_latest = context.keeps_latest
                    await self._deliver(payload_of(result, context.request_id, version=context.version))
        except Exception:  # noqa: BLE001 - every subscriber is told, with a code and nothing else
            log.exception("subscription stream failed")
            error = ApiError(INTERNAL_MESSAGE, code=ErrorCode.INTERNAL)
            self._broadcast(Delivery(payload={"data": None, "errors": [error.formatted]}))
        finally:
            self.ended = True
            self.owner.forget(self)
            for subscriber in self.subscribers:
                subscriber.mailbox.end()

    async def _deliver(self, payload: orjson.Fragment) -> None:
        # Kept before the draws are awaited: a subscriber joining meanwhile is not among those drawn
        # for, and is sent it on joining instead (else it would wait for the next change).
        if self.keeps_latest:
            self.latest = payload
        subscribers = list(self.subscribers)
        draws = await draw_each(self.bucket, [s.identity for s in subscribers], self.event_cost)
        for subscriber, draw in zip(subscribers, draws, strict=True):
            if draw.allowed:
                subscriber.mailbox.put(Delivery(payload=payload))
            else:
                error = rate_limited(draw, self.event_cost, what="this event")
                refused = {"data": None, "errors": [coded_error(error, subscriber.request_id).formatted]}
                subscriber.mailbox.put(Delivery(payload=refused))

    def _broadcast(self, delivery: Delivery) -> None:
        for subscriber in self.subscribers:
            subscriber.mailbox.put(delivery)


class SharedStreams:
    """The worker's running subscription streams, by document, operation, variables and scope."""

    def __init__(self, *, queued_events: int) -> None:
        self.queued_events = queued_events
        self._streams: dict[Hashable, SharedStream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def forget(self, stream: SharedStream) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]

    async def follow(
        self,
        *,
        key: Hashable,
        identity: str,
        request_id: str,
        start: Start,
        bucket: TokenBucket,
        cost: int,
        event_cost: int,
    ) -> AsyncIterator[Delivery]:
        """The deliveries of the stream `key` names, starting it when none runs."""
        subscriber = Subscriber(identity, request_id, Mailbox(self.queued_events))
        stream = self._streams.get(key)
        if stream is not None and not stream.ended:
            draw = await bucket.draw(identity, cost)
            if not draw.allowed:
                refusal = rate_limited(draw, cost, what="this subscription")
                yield Delivery(refusal=refusal_of([refusal], request_id))
                return
            stream = self._streams.get(key)
        if stream is None or stream.ended:
            stream = SharedStream(key=key, owner=self, bucket=bucket, event_cost=event_cost)
            self._streams[key] = stream
            stream.add(subscriber)
            stream.task = asyncio.create_task(stream.run(start), name="subscription-stream")
        else:
            stream.add(subscriber)
        try:
            while (delivery := await subscriber.mailbox.get()) is not None:
                yield delivery
        finally:
            stream.remove(subscriber)
