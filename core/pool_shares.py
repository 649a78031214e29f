"""How much of a worker's connection pool one caller may hold at once.

22 anonymous requests, each holding a PostgreSQL backend for seconds, took the whole pool: a
signed-in customer's trivial query then waited 8.8 s. Here the connection a request holds (its read
snapshot or a write's transaction: one at a time, core/context.py) first takes a slot of its caller
(a user, an API key, or an anonymous caller's IP: the rate limit's identity), at most `per_caller`
at once, and an anonymous caller also one of the `anonymous` slots all anonymous callers share; the
pool's other connections stay free for the rest. So `per_caller` is how many requests of one caller
use the database at once. A request that cannot get its slots within `wait_s` is refused with
RATE_LIMITED.

One gate per caller exists only while the caller holds or waits for a slot, so the map is bounded
by the requests in flight, not by how many callers were ever seen. A slot is not tied to a task: a
read snapshot is opened by whichever batch reads first and closed when the operation ends.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

from core import metrics
from core.errors import ApiError, ErrorCode

BUSY_RETRY_AFTER_S = 1


@dataclass(slots=True)
class _Gate:
    slots: asyncio.Semaphore
    users: int = 0  # holding or waiting
    holding: int = 0


class PoolShares:
    """Slots of one worker's pool: `per_caller` for each caller, `anonymous` for all anonymous ones."""

    def __init__(self, *, per_caller: int, anonymous: int, wait_s: float) -> None:
        self.per_caller = per_caller
        self.wait_s = wait_s
        self._gates: dict[str, _Gate] = {}
        self._anonymous = asyncio.Semaphore(anonymous)
        # The most slots any one caller, and all anonymous callers, held at once (what the caps bound).
        self.caller_peak = 0
        self.anonymous_peak = 0
        self._anonymous_holding = 0

    def __len__(self) -> int:
        return len(self._gates)

    @asynccontextmanager
    async def slot(self, identity: str, *, anonymous: bool) -> AsyncIterator[None]:
        """Hold one of the caller's slots (and an anonymous one) while the block runs; the block may be
        left from another task than the one that entered it."""
        gate = self._gates.get(identity)
        if gate is None:
            gate = self._gates[identity] = _Gate(asyncio.Semaphore(self.per_caller))
        gate.users += 1
        try:
            async with AsyncExitStack() as stack:
                await self._take(stack, [gate.slots, self._anonymous] if anonymous else [gate.slots])
                stack.enter_context(self._holding(gate, anonymous))
                yield
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[identity]

    async def _take(self, stack: AsyncExitStack, semaphores: list[asyncio.Semaphore]) -> None:
        """One slot of each, in this order (the same for every caller: no two wait for each other),
        all within one wait; each is given back when `stack` closes."""
        metrics.POOL_WAITING.inc()
        try:
            async with asyncio.timeout(self.wait_s):
                for slots in semaphores:
                    if self.wait_s == 0 and slots.locked():
                        raise TimeoutError
                    await slots.acquire()
                    stack.callback(slots.release)
        except TimeoutError:
            metrics.RATE_LIMIT_REFUSALS.labels("pool_share").inc()
            raise _busy() from None
        finally:
            metrics.POOL_WAITING.dec()

    @contextmanager
    def _holding(self, gate: _Gate, anonymous: bool) -> Iterator[None]:
        gate.holding += 1
        self._anonymous_holding += anonymous
        self.caller_peak = max(self.caller_peak, gate.holding)
        self.anonymous_peak = max(self.anonymous_peak, self._anonymous_holding)
        try:
            yield
        finally:
            gate.holding -= 1
            self._anonymous_holding -= anonymous


def _busy() -> ApiError:
    return ApiError(
        "Too many of your requests are using the database at once; retry in a moment.",
        code=ErrorCode.RATE_LIMITED,
        retryAfter=BUSY_RETRY_AFTER_S,
    )


# A semaphore belongs to one event loop: one set of shares per loop (a worker has one).
_shares: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, int, float], PoolShares]] = (
    weakref.WeakKeyDictionary()
)


def pool_shares(*, per_caller: int, anonymous: int, wait_s: float) -> PoolShares:
    """This worker's shares for these limits."""
    key = (per_caller, anonymous, wait_s)
    by_limits = _shares.setdefault(asyncio.get_running_loop(), {})
    shares = by_limits.get(key)
    if shares is None:
        shares = by_limits[key] = PoolShares(per_caller=per_caller, anonymous=anonymous, wait_s=wait_s)
    return shares
