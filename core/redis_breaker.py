"""A circuit breaker in front of the shared Redis client, so a Redis that is known to be down costs a
request nothing instead of a socket timeout per call.

Every Redis user (rate limit, response cache, APQ, flag snapshot, change feed, throttles) already
treats a RedisError as "Redis is down" and degrades; the breaker only makes that answer immediate.
It sits in the connection pool, the one place every command, pipeline, script and pub/sub passes:
`threshold` failures in a row (refused, reset, timed out) open it; for `cooldown_s` every call raises
`BreakerOpen` (a redis ConnectionError) at once; then exactly one call is let through as a probe
(half-open), whose outcome closes or reopens it. One probe, not every caller of the half-open window:
a frozen Redis would otherwise make every request of that window wait out its timeout again.

purgatory (core/delivery/breakers.py) does not fit here: its half-open state admits every concurrent
caller, and its async message bus would run on every Redis command of every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from redis.asyncio.connection import (
    AbstractConnection,
    BlockingConnectionPool,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

State = Literal["closed", "open", "half-open"]
# What says Redis itself is away, not that one command was wrong (a WRONGTYPE, a NOSCRIPT).
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class BreakerOpen(RedisConnectionError):
    """Redis failed moments ago: the call was not tried."""


class RedisBreaker:
    def __init__(
        self, *, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.state: State = "closed"
        self.failures = 0
        self._opened_at = 0.0
        # Called with the new state on every change (a metrics gauge, a log line).
        self.listeners: list[Callable[[State], None]] = []

    def admit(self) -> bool:
        """Whether a call may go to Redis now; in the half-open state, only the one probe."""
        if self.state == "closed":
            return True
        if self._clock() - self._opened_at < self.cooldown_s:
            return False
        # Past the cooldown (open), or a probe that never reported back (half-open): one probe.
        self._opened_at = self._clock()
        self._set("half-open")
        return True

    def succeeded(self) -> None:
        self.failures = 0
        if self.state != "closed":
            self._set("closed")

    def failed(self) -> None:
        self.failures += 1
        if self.state == "half-open" or (self.state == "closed" and self.failures >= self.threshold):
            self._opened_at = self._clock()
            self._set("open")

    def _set(self, state: State) -> None:
        if state == self.state:
            return
        self.state = state
        log.warning("redis breaker is now %s", state)
        for listener in self.listeners:
            listener(state)


class GuardedConnection(AbstractConnection):
    """A connection that reports each reply, or each outage, to the pool's breaker."""

    def __init__(self, *, breaker: RedisBreaker, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.breaker = breaker
        # The handshake's replies go through read_response too: one outage is one failure.
        self._counted = False

    async def connect(self) -> None:
        self._counted = False
        try:
            await super().connect()
        except OUTAGE_ERRORS:
            if not self._counted:
                self.breaker.failed()
            raise

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().read_response(*args, **kwargs)
        except OUTAGE_ERRORS:
            self._counted = True
            self.breaker.failed()
            raise
        # A pub/sub poll passes a timeout and returns None when nothing came: that proves nothing
        # about a frozen Redis, so only a command's reply counts as a success.
        if kwargs.get("timeout") is None:
            self.breaker.succeeded()
        return response


class GuardedTcpConnection(GuardedConnection, Connection):
    pass


class GuardedSslConnection(GuardedConnection, SSLConnection):
    pass


class GuardedUnixConnection(GuardedConnection, UnixDomainSocketConnection):
    pass


def _guarded(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The guarded kind of what the URL chose (redis://, rediss:// or unix://: the embedded Redis)."""
    for plain, guarded in (
        (UnixDomainSocketConnection, GuardedUnixConnection),
        (SSLConnection, GuardedSslConnection),
    ):
        if issubclass(connection_class, plain):
            return guarded
    return GuardedTcpConnection


class GuardedPool(BlockingConnectionPool):
    """Hands out connections only while the breaker admits calls."""

    def __init__(self, *, breaker: RedisBreaker, **kwargs: Any) -> None:
        kwargs["connection_class"] = _guarded(kwargs.get("connection_class", Connection))
        super().__init__(breaker=breaker, **kwargs)
        self.breaker = breaker

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.admit():
            raise BreakerOpen("redis circuit open")
        return await super().get_connection(*args, **kwargs)
