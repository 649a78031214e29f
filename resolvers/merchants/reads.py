"""Merchant reads: categories, filtered lists and proximity search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, func, select

from core.context import RequestContext
from core.errors import BadUserInput
from loaders.base import Reader
from loaders.merchants import CATEGORY_COLUMNS, MERCHANT_COLUMNS
from models.merchants import Merchant, MerchantCategory
from resolvers.merchants import geo
from resolvers.pagination import Page, PageRequest, SortKey, paginate
from resolvers.text_inputs import filter_text, search_words

MAX_RADIUS_KM = 200.0


class MerchantSort(StrEnum):
    NAME = "name"
    DISTANCE = "distance"


@dataclass(frozen=True, slots=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float

    def validated(self) -> Near:
        if not -90 <= self.latitude <= 90 or not -180 <= self.longitude <= 180:
            raise BadUserInput("Coordinates are out of range.", field="near")
        if not 0 < self.radius_km <= MAX_RADIUS_KM:
            raise BadUserInput(f"`radiusKm` must be above 0 and at most {MAX_RADIUS_KM:g}.", field="near")
        return self


@dataclass(frozen=True, slots=True)
class MerchantFilter:
    category_ids: Sequence[int] = ()
    city: str | None = None
    featured: bool | None = None
    active: bool | None = True
    search: str | None = None
    near: Near | None = None


async def list_categories(*, context: RequestContext, active_only: bool = False) -> Sequence[Row[Any]]:
    """Return merchant categories ordered by name."""
    query = select(*CATEGORY_COLUMNS).order_by(MerchantCategory.name, MerchantCategory.id)
    if active_only:
        query = query.where(MerchantCategory.is_active)
    async with context.read_connection() as session:
        return (await session.execute(query)).all()


def _filtered(f: MerchantFilter) -> tuple[Select[Any], Any]:
    # The text is checked first: nothing reaches PostgreSQL past the limits.
    search = search_words(f.search, field="filter.search")
    city = filter_text(f.city, field="filter.city")
    distance = None
    if f.near is not None:
        near = f.near.validated()
        distance = geo.haversine_sql(Merchant.latitude, Merchant.longitude, near.latitude, near.longitude)
        query: Select[Any] = select(*MERCHANT_COLUMNS, distance.label("distance_km")).where(
            geo.within_box(
                Merchant.latitude,
                Merchant.longitude,
                geo.bounding_box(latitude=near.latitude, longitude=near.longitude, radius_km=near.radius_km),
            ),
            distance <= near.radius_km,
        )
    else:
        query = select(*MERCHANT_COLUMNS)
    if f.category_ids:
        query = query.where(Merchant.category_id.in_(f.category_ids))
    if city:
        query = query.where(func.lower(Merchant.city) == city.lower())
    if f.featured is not None:
        query = query.where(Merchant.is_featured == f.featured)
    if f.active is not None:
        query = query.where(Merchant.is_active == f.active)
    if search:
        query = query.where(Merchant.search.op("@@")(func.websearch_to_tsquery("simple", search)))
    return query, distance


async def list_merchants(
    *, session: Reader, filter: MerchantFilter, sort: MerchantSort, page: PageRequest
) -> tuple[Page[Any], Select[Any]]:
    """One page of merchants as (merchant row, distance_km or None) pairs, and the query for totalCount."""
    query, distance = _filtered(filter)
    if sort is MerchantSort.DISTANCE and distance is None:
        raise BadUserInput("Sorting by DISTANCE needs `near`.", field="sort")
    if sort is MerchantSort.DISTANCE:
        key = SortKey(column=distance, id_column=Merchant.id)
        result = await paginate(session, query, key=key, page=page, sort_value=lambda r: r.distance_km)
    else:
        key = SortKey(column=Merchant.name, id_column=Merchant.id)
        result = await paginate(session, query, key=key, page=page)
    result.rows = [(row, None if distance is None else row.distance_km) for row in result.rows]
    return result, query
