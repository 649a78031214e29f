"""Short retries within one send, for a connection refused or dropped before the provider answered.

Only `NetworkFailure` is retried here, a few times, a fraction of a second apart: a provider that
answered with an error, or that stays unreachable, is the breaker's and then the job engine's
business, whose backoff is measured in minutes and survives a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_none
from tenacity.wait import wait_base, wait_random_exponential

from core.delivery.message import NetworkFailure, Result


class NetworkRetries:
    def __init__(self, *, attempts: int, wait_s: float) -> None:
        self.attempts = attempts
        # Full jitter, so the sends of many jobs that met the same outage do not retry in step.
        self._wait: wait_base = (
            wait_random_exponential(multiplier=wait_s, max=wait_s * 4) if wait_s > 0 else wait_none()
        )

    async def __call__(self, send: Callable[[], Awaitable[Result]]) -> Result:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(NetworkFailure),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await send()
        raise AssertionError("tenacity stops by raising (reraise=True)")
