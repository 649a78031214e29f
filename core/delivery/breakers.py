"""A circuit breaker per provider (per receiving host for webhooks), from purgatory.

A provider that fails `threshold` times in a row opens its breaker: for `open_s` seconds every send
answers `PROVIDER_UNAVAILABLE` at once with how long is left, so a job engine backs its deliveries
off instead of holding a worker on a dead provider; then sends are let through again (half-open) and
the first outcome closes or reopens it. Answers about one message (a dead device token, a 429 for one
device) are results, not failures, and never open it. State lives in each process: a worker learns
of an outage from its own sends, which costs at most `threshold` attempts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import Context, OpenedState

from core.delivery.message import Code, ProviderFailure, Result
from core.metrics_hooks import record_breaker_state

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BreakerState:
    circuit: str
    # "closed", "opened" or "half-opened"
    state: str
    failures: int
    # seconds until an open breaker lets a send through again
    reopens_in: float | None


class Breakers:
    def __init__(self, *, threshold: int, open_s: float) -> None:
        self.open_s = open_s
        # A cancelled send (a worker stopping) says nothing about the provider.
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=open_s, exclude=[asyncio.CancelledError]
        )
        self._factory.add_listener(self._on_event)
        self._contexts: dict[str, Context] = {}

    async def call(self, circuit: str, send: Callable[[], Awaitable[Result]]) -> Result:
        """Run `send` behind the breaker of `circuit`; failures come back as retry results."""
        breaker = await self._factory.get_breaker(circuit)
        if circuit not in self._contexts:
            record_breaker_state(_breaker_of(circuit), breaker.context.state, circuit=circuit)
        self._contexts[circuit] = breaker.context
        try:
            async with breaker:
                return await send()
        except OpenedState as opened:
            left = max(opened.opened_at + self.open_s - time.time(), 0.0)
            return Result.retry(Code.PROVIDER_UNAVAILABLE, retry_after=round(left, 3), reason=circuit)
        except ProviderFailure as failure:
            return failure.result
        except Exception:
            log.exception("delivery through %s failed unexpectedly", circuit)
            return Result.retry(Code.UNEXPECTED, reason=circuit)

    def states(self) -> list[BreakerState]:
        """Every breaker used so far, for metrics and the admin's view."""
        now = time.time()
        return [
            BreakerState(
                circuit=name,
                state=context.state,
                failures=context.failure_count or 0,
                reopens_in=(
                    max(context.opened_at + self.open_s - now, 0.0) if context.opened_at is not None else None
                ),
            )
            for name, context in sorted(self._contexts.items())
        ]

    def state_of(self, circuit: str) -> str:
        context = self._contexts.get(circuit)
        return "closed" if context is None else context.state

    def _on_event(self, circuit: str, kind: str, event: Any) -> None:
        if kind == "state_changed":
            record_breaker_state(_breaker_of(circuit), event.state, circuit=circuit)
            log.warning("delivery breaker %s is now %s", circuit, event.state)


def _breaker_of(circuit: str) -> str:
    # A webhook's circuits are per receiving host ("webhook:host:port"): the label is the provider's,
    # so receivers cannot add series; the gauge counts the circuits in each state.
    return "delivery_" + circuit.split(":", 1)[0]
