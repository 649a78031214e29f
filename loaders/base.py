"""The base of every loader: one batch, one session, one statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.context import RequestContext
from core.tracing import active_tracer

# What a batch reads through: the operation's connection (loaders select columns, so no ORM step is
# needed), or a session when a write reads its own transaction (resolvers/experiments/recompute.py).
Reader = AsyncConnection | AsyncSession

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loader(DataLoader[K, V], Generic[K, V]):
    """Subclasses implement `load_batch(session, keys)` returning values in key order."""

    def __init__(self, context: RequestContext) -> None:
        super().__init__()
        self.context = context

    @property
    def viewer(self):  # type: ignore[no-untyped-def]
        return self.context.viewer

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:  # type: ignore[override]
        # Batches of different loaders run as concurrent tasks: they take turns on the operation's one
        # read snapshot (one connection, one transaction), each still one statement.
        tracer = active_tracer()
        if tracer is None:
            async with self.context.read_connection() as connection:
                return await self.load_batch(connection, list(keys))
        # The span includes the wait for the snapshot's turn: a batch's time as the operation saw it.
        with tracer.start_as_current_span(f"loader {type(self).__name__}") as span:
            span.set_attribute("loader.keys", len(keys))
            async with self.context.read_connection() as connection:
                return await self.load_batch(connection, list(keys))

    async def load_batch(self, session: Reader, keys: list[K]) -> list[V]:
        raise NotImplementedError


def one_per_key(keys: Iterable[K], rows: Iterable[Any], key: Callable[[Any], K]) -> list[Any]:
    """Rows matched to keys (None where a key found no row), in key order."""
    by_key = {key(row): row for row in _fetched(rows)}
    return [by_key.get(k) for k in keys]


def many_per_key(keys: Iterable[K], rows: Iterable[Any], key: Callable[[Any], K]) -> list[list[Any]]:
    """Rows grouped by key (an empty list where a key found none), in key order."""
    groups: dict[K, list[Any]] = defaultdict(list)
    for row in _fetched(rows):
        groups[key(row)].append(row)
    return [groups.get(k, []) for k in keys]


def _fetched(rows: Iterable[Any]) -> Iterable[Any]:
    # A statement's result fetched at once: iterating it fetches (and processes) one row per call.
    fetch_all = getattr(rows, "all", None)
    return fetch_all() if callable(fetch_all) else rows


def grouped_by_rest(keys: Sequence[tuple[Any, ...]]) -> dict[Any, list[Any]]:
    """The first part of each key (a user id) by the rest of it: one statement serves every key
    asking the same thing (one page size, one filter)."""
    groups: dict[Any, list[Any]] = defaultdict(list)
    for user_id, *rest in keys:
        groups[tuple(rest)].append(user_id)
    return groups
