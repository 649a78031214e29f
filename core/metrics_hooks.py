"""What the layers call to record a metric of core/metrics.py where something happens: a pool's
events, a breaker's transitions, Redis failing or coming back, a cache lookup."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from core import metrics

HIT, MISS = "hit", "miss"

# Each breaker's circuits by name and their last state, so a transition moves one circuit from the
# old state's count to the new one's (the gauge is summed over the live processes).
_circuits: dict[str, dict[str, str]] = {}


def cache_lookup(cache: str, *, hit: bool) -> None:
    metrics.CACHE_LOOKUPS.labels(cache, HIT if hit else MISS).inc()


def redis_failed(component: str) -> None:
    metrics.REDIS_ERRORS.labels(component).inc()


def redis_available(client: str, up: bool) -> None:
    metrics.REDIS_AVAILABLE.labels(client).set(1 if up else 0)


def record_breaker_state(name: str, state: str, *, circuit: str | None = None) -> None:
    """Say that `circuit` of breaker `name` (itself, for a breaker of one circuit) is now in `state`;
    the first call for a circuit adds it. For the delivery breakers and the Redis breaker alike."""
    circuits = _circuits.setdefault(name, {})
    key = circuit or name
    previous = circuits.get(key)
    if previous == state:
        return
    if previous is not None:
        metrics.BREAKER_CIRCUITS.labels(name, previous).dec()
    metrics.BREAKER_CIRCUITS.labels(name, state).inc()
    circuits[key] = state


def instrument_pool(engine: Engine, name: str) -> None:
    """Keep the pool's in-use and overflow gauges from its checkout and checkin events (no callback
    gauge in multiprocess mode). Overflow is what is checked out past DB_POOL_SIZE: those connections
    are opened for the request and closed after it."""
    size = engine.pool.size()  # type: ignore[attr-defined]
    in_use = metrics.POOL_IN_USE.labels(name)
    overflow = metrics.POOL_OVERFLOW.labels(name)
    held = [0]

    def moved(by: int) -> None:
        held[0] += by
        in_use.set(held[0])
        overflow.set(max(held[0] - size, 0))

    event.listen(engine, "checkout", lambda *_: moved(1))
    event.listen(engine, "checkin", lambda *_: moved(-1))
