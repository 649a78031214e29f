"""User reads: the admin user list, a user's paged transactions and rewards, recommendations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, func, or_, select

from core.errors import BadUserInput
from core.viewer import Viewer
from loaders.base import Reader
from loaders.ml import Recommendation, RecommendedMerchantsByUserLoader
from loaders.users import (
    USER_COLUMNS,
    RewardEntryPageByUserLoader,
    TransactionFilter,
    TransactionPageByUserLoader,
    UserByIdLoader,
    Window,
)
from loaders.visibility import users_visible_to
from models.users import User
from resolvers.pagination import MAX_PAGE_SIZE, Page, PageRequest, SortKey, decode_cursor, paginate
from resolvers.pagination import encode_cursor as cursor_of
from resolvers.text_inputs import search_words

DEFAULT_RECOMMENDATIONS = 10


class UserSort(StrEnum):
    CREATED_AT = "created_at"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class UserFilter:
    search: str | None = None
    tiers: Sequence[str] = ()


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _filtered(viewer: Viewer, f: UserFilter) -> Select[Any]:
    term = search_words(f.search, field="filter.search")
    query = select(*USER_COLUMNS).where(users_visible_to(viewer))
    if f.tiers:
        query = query.where(User.loyalty_tier.in_(f.tiers))
    if term:
        # An email prefix, or words of the name (ix_users_search, GIN). uq_users_lower_email serves the
        # prefix only if built with text_pattern_ops (or a C collation); otherwise it is a filter.
        query = query.where(
            or_(
                func.lower(User.email).like(_like_prefix(term.lower()), escape="\\"),
                User.search.op("@@")(func.websearch_to_tsquery("simple", term)),
            )
        )
    return query


async def list_users(
    *,
    session: Reader,
    viewer: Viewer,
    filter: UserFilter,
    sort: UserSort,
    descending: bool,
    page: PageRequest,
) -> tuple[Page[Row[Any]], Select[Any]]:
    """Return one page of the users the viewer may see, and the filtered query for totalCount."""
    query = _filtered(viewer, filter)
    if sort is UserSort.CREATED_AT:
        key = SortKey(column=User.created_at, id_column=User.id, descending=descending)
        return await paginate(session, query, key=key, page=page), query
    # Erased users have no name: coalesce keeps them in the keyset order instead of comparing NULLs.
    name = func.coalesce(User.name, "")
    key = SortKey(column=name, id_column=User.id, descending=descending)
    result = await paginate(session, query, key=key, page=page, sort_value=lambda row: row.name or "")
    return result, query


async def viewer_profile(*, loader: UserByIdLoader, viewer: Viewer) -> Row[Any] | None:
    """Return the viewer's own user row, or None for viewers without one."""
    if viewer.user_id is None:
        return None
    return await loader.load(viewer.user_id)


def transaction_filter(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    merchant_id: int | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    categories: Sequence[str] = (),
    statuses: Sequence[str] = (),
) -> TransactionFilter:
    """Validate transaction filter arguments; days are UTC and both ends are included."""
    if start is not None and end is not None and start > end:
        raise BadUserInput("`start` must not be after `end`.", field="dateRange")
    for field, amount in (("minAmount", min_amount), ("maxAmount", max_amount)):
        if amount is not None and amount < 0:
            raise BadUserInput(f"`{field}` must not be negative.", field=field)
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise BadUserInput("`minAmount` must not exceed `maxAmount`.", field="minAmount")
    return TransactionFilter(
        occurred_from=None if start is None else _midnight(start),
        occurred_before=None if end is None else _midnight(end + dt.timedelta(days=1)),
        merchant_id=merchant_id,
        min_amount=min_amount,
        max_amount=max_amount,
        categories=tuple(sorted(set(categories))),
        statuses=tuple(sorted(set(statuses))),
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def window_of(page: PageRequest) -> Window:
    """The loader window of a validated page request (cursors decoded, one extra row to see beyond)."""
    page = page.validated()
    return Window(
        size=page.size,
        after=None if page.after is None else decode_cursor(page.after, "after"),
        before=None if page.before is None else decode_cursor(page.before, "before"),
        backwards=page.backwards,
    )


def page_from_rows(rows: list[Any], *, window: Window, sort_value: Callable[[Any], Any]) -> Page[Any]:
    """Cut a window's rows (nearest the cursor first, one extra) into a page, as `paginate` does."""
    more = len(rows) > window.size
    rows = rows[: window.size]
    if window.backwards:
        rows.reverse()
    return Page(
        rows=rows,
        cursors=[cursor_of(sort_value(row), row.id) for row in rows],
        has_next_page=window.before is not None if window.backwards else more,
        has_previous_page=more if window.backwards else window.after is not None,
    )


async def transactions_page(
    *, loader: TransactionPageByUserLoader, user_id: int, filter: TransactionFilter, page: PageRequest
) -> Page[Row[Any]]:
    """Return one page of a user's transactions, newest first."""
    window = window_of(page)
    rows = await loader.load((user_id, filter, window))
    return page_from_rows(list(rows), window=window, sort_value=lambda row: row.occurred_at)


async def reward_entries_page(
    *, loader: RewardEntryPageByUserLoader, user_id: int, page: PageRequest
) -> Page[Row[Any]]:
    """Return one page of a user's rewards ledger, newest first."""
    window = window_of(page)
    rows = await loader.load((user_id, window))
    return page_from_rows(list(rows), window=window, sort_value=lambda row: row.created_at)


async def recommended_merchants(
    *, loader: RecommendedMerchantsByUserLoader, user_id: int, first: int
) -> list[Recommendation]:
    """Return a user's top `first` active merchants by affinity."""
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", field="first")
    if first == 0:
        return []
    return await loader.load((user_id, first))
