"""Keyset pagination: opaque cursors over (sort key, id), stable under inserts (no OFFSET)."""

from __future__ import annotations

import base64
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from core.context import RequestContext
from core.errors import BadUserInput
from loaders.base import Reader

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A cursor holds a sort value (at most a 200-character name) and an id, base64 of JSON: well under
# this. A longer one is no cursor of ours and is refused before it is decoded.
MAX_CURSOR_CHARS = 2048

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def validated(self) -> PageRequest:
        """Refuse impossible page requests instead of silently cutting them."""
        if self.first is not None and self.last is not None:
            raise BadUserInput("Pass `first` or `last`, not both.", field="first")
        for name, size in (("first", self.first), ("last", self.last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.", field=name)
        if self.last is not None and self.after is not None:
            raise BadUserInput("`last` pages backwards: combine it with `before`.", field="after")
        for name, cursor in (("after", self.after), ("before", self.before)):
            if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
                raise BadUserInput(f"`{name}` may be at most {MAX_CURSOR_CHARS} characters.", field=name)
        return self

    @property
    def backwards(self) -> bool:
        return self.last is not None or (self.before is not None and self.first is None)

    @property
    def size(self) -> int:
        size = self.last if self.backwards else self.first
        return DEFAULT_PAGE_SIZE if size is None else size


@dataclass(frozen=True, slots=True)
class SortKey:
    """An indexed sort column; the id breaks ties so the order is total."""

    column: ColumnElement[Any]
    id_column: ColumnElement[Any]
    descending: bool = False


@dataclass(slots=True)
class Page(Generic[Row]):
    rows: list[Row]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"t": value.isoformat(), "k": "dt" if isinstance(value, datetime) else "d"}
    if isinstance(value, Decimal):
        return {"t": str(value), "k": "n"}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        kind, text = value.get("k"), value.get("t")
        if not isinstance(text, str) or len(value) != 2:
            raise ValueError(value)
        if kind == "dt":
            return datetime.fromisoformat(text)
        if kind == "d":
            return date.fromisoformat(text)
        if kind == "n":
            return Decimal(text)
        raise ValueError(kind)
    return value


def encode_cursor(sort_value: Any, row_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_plain(sort_value), row_id])).decode()


# Longer than any cursor this API issues (a 200-character name, UTF-8 and base64, is under 1,100).
MAX_CURSOR_LENGTH = 2048
# Row ids are BIGINT identity keys.
MAX_ROW_ID = 2**63 - 1
# Digits of a Decimal sort value either side of the point; PostgreSQL's NUMERIC fails beyond its own.
DECIMAL_DIGITS = 18
# What a sort column's Python type accepts as a cursor's sort value (exact types: a bool is no int,
# a datetime no date).
_ACCEPTED: dict[type, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    Decimal: (Decimal,),
    str: (str,),
    datetime: (datetime,),
    date: (date,),
}


def _fits(value: Any, kind: type | None) -> bool:
    """Whether a decoded sort value can be compared with the sort column in SQL."""
    if value is None:
        return True
    allowed = _ACCEPTED.get(kind) if kind is not None else None
    if type(value) not in (allowed or tuple(_ACCEPTED)):
        return False
    if isinstance(value, int):
        return -MAX_ROW_ID - 1 <= value <= MAX_ROW_ID
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value.adjusted()) <= DECIMAL_DIGITS
    if isinstance(value, str):
        return "\x00" not in value
    return True


def sort_kind(column: ColumnElement[Any]) -> type | None:
    """The Python type of a sort column's values, when SQLAlchemy knows it."""
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def decode_cursor(cursor: str, field: str, kind: type | None = None) -> tuple[Any, int]:
    """The (sort value, row id) of a cursor this API issued, for a sort column of Python type `kind`;
    any other string (another list's cursor, a truncated or forged one) is BAD_USER_INPUT."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError(len(cursor))
        decoded = orjson.loads(base64.b64decode(cursor, altchars=b"-_", validate=True))
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise ValueError(decoded)
        sort_value, row_id = _typed(decoded[0]), decoded[1]
        if type(row_id) is not int or not 0 < row_id <= MAX_ROW_ID or not _fits(sort_value, kind):
            raise ValueError(decoded)
        return sort_value, row_id
    except (ValueError, TypeError, ArithmeticError) as exc:
        # ValueError covers base64's binascii.Error and orjson's JSONDecodeError; Decimal's errors
        # are ArithmeticErrors.
        raise BadUserInput("The cursor is not one this API issued.", field=field) from exc


def _beyond(key: SortKey, cursor: tuple[Any, int], *, forward: bool) -> ColumnElement[bool]:
    """Rows strictly after (forward) or before the cursor in the key's order."""
    value, row_id = cursor
    later = forward != key.descending
    if later:
        return or_(key.column > value, and_(key.column == value, key.id_column > row_id))
    return or_(key.column < value, and_(key.column == value, key.id_column < row_id))


async def paginate(
    session: Reader,
    query: Select[Any],
    *,
    key: SortKey,
    page: PageRequest,
    sort_value: Callable[[Any], Any] | None = None,
    row_id: Callable[[Any], int] | None = None,
) -> Page[Any]:
    """Run one statement for the requested page of `query` (which must not be ordered yet).

    The query selects columns, and the page holds its rows (the read path loads no ORM entity).
    `sort_value(row)` and `row_id(row)` read a row's sort value and id for its cursor; by default
    the columns named like the sort column and `id`.
    """
    page = page.validated()
    forward = not page.backwards
    if page.after is not None:
        query = query.where(
            _beyond(key, decode_cursor(page.after, "after", sort_kind(key.column)), forward=True)
        )
    if page.before is not None:
        cursor = decode_cursor(page.before, "before", sort_kind(key.column))
        query = query.where(_beyond(key, cursor, forward=False))
    ascending = forward != key.descending
    direction = "asc" if ascending else "desc"
    order = (getattr(key.column, direction)(), getattr(key.id_column, direction)())
    result = await session.execute(query.order_by(*order).limit(page.size + 1))
    rows = list(result.all())
    more = len(rows) > page.size
    rows = rows[: page.size]
    if not forward:
        rows.reverse()
    value_of = sort_value or (lambda row: getattr(row, key.column.key))  # type: ignore[union-attr]
    id_of = row_id or (lambda row: row.id)
    cursors = [encode_cursor(value_of(row), id_of(row)) for row in rows]
    return Page(
        rows=rows,
        cursors=cursors,
        has_next_page=more if forward else page.before is not None,
        has_previous_page=more if not forward else page.after is not None,
    )


async def count(session: Reader, query: Select[Any]) -> int:
    """totalCount of a filtered list: one statement, run only when the field is asked for."""
    return int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


async def page_and_total(
    context: RequestContext, fetch: Callable[[Reader], Awaitable[tuple[Page[Any], Select[Any]]]]
) -> tuple[Page[Any], Callable[[], Awaitable[int]]]:
    """One page by `fetch(session)` (which returns the page and its filtered query), and the count of
    that same query, run in a statement of its own only when called (totalCount selected)."""
    async with context.read_connection() as session:
        page, query = await fetch(session)

    async def total() -> int:
        async with context.read_connection() as session:
            return await count(session, query)

    return page, total
