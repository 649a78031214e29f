"""Relay pieces shared by every domain: connections, edges, page info and the pagination arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from core.context import RequestContext
from core.policies import EVERYONE
from resolvers.pagination import Page, PageRequest, page_and_total
from schema.caching.hints import cache_hint
from schema.permissions import type_policy

NodeT = TypeVar("NodeT")

# Connection, Edge and PageInfo are structure: the field returning the connection was authorised.
STRUCTURAL_TYPES = ("PageInfo",)


# Structure inherits the freshness of the field holding it (Apollo's `inheritMaxAge`).
@cache_hint(inherit_max_age=True)
@type_policy(EVERYONE)
@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow the last edge.")
    has_previous_page: bool = strawberry.field(description="More items precede the first edge.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


@cache_hint(inherit_max_age=True)
@strawberry.type(description="An item of a list with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position; pass it as `after` or `before`.")
    node: NodeT = strawberry.field(description="The item.")


@cache_hint(inherit_max_age=True)
@strawberry.type(description="A page of a list, with keyset cursors stable under inserts.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Whether more pages exist, and their cursors.")
    _total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole filtered list (one extra statement).")
    async def total_count(self) -> int:
        return await self._total()


def connection(page: Page[Any], convert: Callable[[Any], NodeT], total: Callable[[], Awaitable[int]]) -> Any:
    """Build a Connection from a fetched page; `total` runs only if totalCount is selected."""
    edges = [Edge(cursor=c, node=convert(row)) for c, row in zip(page.cursors, page.rows, strict=True)]
    info = PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return Connection(edges=edges, page_info=info, _total=total)


async def paged(
    context: RequestContext,
    fetch: Callable[[Any], Awaitable[tuple[Page[Any], Any]]],
    convert: Callable[[Any], NodeT],
) -> Any:
    """The connection of the page `fetch(session)` returns (resolvers/pagination.py runs it)."""
    page, total = await page_and_total(context, fetch)
    return connection(page, convert, total)


def page_request(first: int | None, after: str | None, last: int | None, before: str | None) -> PageRequest:
    return PageRequest(first=first, after=after, last=last, before=before).validated()
