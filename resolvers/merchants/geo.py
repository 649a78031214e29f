"""Proximity search on core PostgreSQL: a bounding box the btree (latitude, longitude) index can
serve, then the exact great-circle (haversine) distance for filtering and ordering."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_box(*, latitude: float, longitude: float, radius_km: float) -> BoundingBox:
    """The lat/lon rectangle containing the circle (it widens in longitude away from the equator)."""
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    cos_lat = math.cos(math.radians(latitude))
    # Near the poles the circle spans every longitude.
    dlon = 180.0 if cos_lat < 1e-6 else min(180.0, dlat / cos_lat)
    return BoundingBox(
        min_lat=max(-90.0, latitude - dlat),
        max_lat=min(90.0, latitude + dlat),
        min_lon=max(-180.0, longitude - dlon),
        max_lon=min(180.0, longitude + dlon),
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (pure Python, for tests and single points)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_sql(
    lat_col: ColumnElement[float], lon_col: ColumnElement[float], lat: float, lon: float
) -> ColumnElement[float]:
    """The same distance as a SQL expression over two columns."""
    p1, p2 = func.radians(lat_col), math.radians(lat)
    dp, dl = func.radians(lat_col) - p2, func.radians(lon_col) - math.radians(lon)
    a = func.power(func.sin(dp / 2), 2) + func.cos(p1) * math.cos(p2) * func.power(func.sin(dl / 2), 2)
    return 2 * EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(a)))


def within_box(
    lat_col: ColumnElement[float], lon_col: ColumnElement[float], box: BoundingBox
) -> ColumnElement[bool]:
    # Antimeridian-crossing boxes are clamped, which only over-selects; the distance filter decides.
    return and_(lat_col.between(box.min_lat, box.max_lat), lon_col.between(box.min_lon, box.max_lon))
