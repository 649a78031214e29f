"""What a connection pool did while a block ran, from SQLAlchemy's pool events: connections opened
(`connect`), handed out (`checkout`), and the most handed out at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class PoolUse:
    connects: int = 0
    checkouts: int = 0
    held: int = 0
    peak: int = 0


@contextmanager
def pool_use(engine: AsyncEngine) -> Iterator[PoolUse]:
    use = PoolUse()

    def connected(*_: Any) -> None:
        use.connects += 1

    def checked_out(*_: Any) -> None:
        use.checkouts += 1
        use.held += 1
        use.peak = max(use.peak, use.held)

    def checked_in(*_: Any) -> None:
        use.held -= 1

    listeners = [("connect", connected), ("checkout", checked_out), ("checkin", checked_in)]
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)
    try:
        yield use
    finally:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)


async def warm(engine: AsyncEngine, connections: int) -> None:
    """Open `connections` pooled connections at once and give them back: the pool keeps them idle."""
    held = [await engine.connect() for _ in range(connections)]
    for connection in held:
        await connection.close()
